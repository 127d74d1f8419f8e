"""The sections of a report: each a pure function from a run's tables (a ``Bundle``), a
unit and the reader's language to a ``Section``: its heading and its parts in order
(tables of published values, figures, notes). Sections neither load data nor withhold
cells (``d8lib.reports.disclosure`` did, once for the run); ``d8lib.reports.display`` shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from d8lib.core import labels
from d8lib.core.labels import has_label, label
from d8lib.core.text import without_diacritics
from d8lib.monitoring.milestones import STATUSES
from d8lib.monitoring.milestones import summary as milestone_summary
from d8lib.monitoring.progress import UNLOCATED, completeness_summary, thresholds
from d8lib.plan.model import PEOPLE
from d8lib.reports import charts, disclosure, findings, formats
from d8lib.reports.bundle import Bundle
from d8lib.units.reform import LEVEL as COMMUNE_LEVEL


@dataclass
class Section:
    """A report section: a heading (a label key) and its parts, each a tuple whose first
    item says what it is: ("table", id, frame, digits), ("figure", figure, alt text),
    ("note", text), ("paragraph", text), ("heading", label key, level), ("list", id,
    items) or ("title", title, subtitle)."""

    heading: str = ""
    parts: list = field(default_factory=list)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The section's tables by id (the Excel twin's sheet names)."""
        return {part[1]: part[2] for part in self.parts if part[0] == "table"}

    @property
    def figures(self) -> list:
        return [part[1] for part in self.parts if part[0] == "figure"]


def code_order(code: str) -> tuple:
    """Codes in natural order, whatever a plan names them: O2 before O10, O1.2 after O1,
    T9 before T10; the codes of Plan 355's shape lead: indicators (O), then priority
    groups (P), then milestones (M)."""
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", str(code)) if p)
    return ("OPM".find(str(code)[:1]) % 4, parts)


def _period(bundle: Bundle, lang: str):
    """A function naming a reporting period as readers do ("" for none)."""
    return lambda period: bundle.period_names.get(period, {}).get(lang, period) if isinstance(period, str) else ""


def _names(bundle: Bundle, lang: str) -> pd.Series:
    return bundle.units.set_index("unit").name.map(lambda n: labels.unit_name(n, lang))


def _flags(rows, lang: str, rules: list, kind: str = "proportion") -> tuple[list[str], list[tuple]]:
    """The presentation flag of each figure as the reader reads it, with the number of the
    note that gives its reasons ("Không công bố (1)"), and the notes under the table: each
    set of reasons said once, with the thresholds of the standard's ``rules``."""
    cells, notes = [], {}
    for row in rows:
        text = label(f"flag.{row.flag}", lang)
        reasons = tuple(_reason(r, _rule(rules, r, row.flag, kind), lang) for r in str(row.reason).split(";") if r)
        if reasons and row.flag != "ok":
            number = notes.setdefault(reasons, len(notes) + 1)
            text = f"{text} ({number})"
        cells.append(text)
    return cells, [("note", f"({number}) {'; '.join(reasons)}.") for reasons, number in notes.items()]


def _rule(rules: list, check: str, action: str, kind: str) -> dict:
    """The standard's rule that gave a figure of ``kind`` its ``action`` for ``check``."""
    return next(
        (r for r in rules if r["check"] == check and r["action"] == action and kind in r.get("applies_to", [kind])),
        {},
    )


def _reason(check: str, rule: dict, lang: str) -> str:
    """A check of the presentation standard in the reader's words, with its threshold."""
    value = rule.get("value", float("nan"))
    return label(f"reasons.{check}", lang).format(value=value, points=100 * value)


def standard_note(design: dict, lang: str = "vi") -> str:
    """The presentation standard as the run applied it to percentages: its interval and,
    per action, the conditions of its rules with their thresholds."""
    rules = [r for r in design.get("standard_rules", []) if "proportion" in r.get("applies_to", [])]
    actions = []
    for action in ("suppress", "caution", "review"):
        conditions = [_reason(r["check"], r, lang) for r in rules if r["action"] == action]
        if conditions:
            actions.append(label(f"standard_actions.{action}", lang).format(conditions="; ".join(conditions)))
    interval = label(f"intervals.{design.get('interval', 'korn-graubard')}", lang)
    return label("notes.standard", lang).format(
        standard=design.get("standard", ""), interval=interval, rules=" ".join(actions)
    )


def title(bundle: Bundle, unit: str, lang: str = "vi", kind: str = "report_title") -> Section:
    """The report's title: the unit, the phase or round, and the date of the figures."""
    if bundle.review:
        what = bundle.review_titles[lang]
    elif bundle.period:
        what = f"{label('round_label', lang)} {_period(bundle, lang)(bundle.period)}"
    else:
        what = label("phase." + bundle.phase, lang)
    subtitle = f"{what} · {label('as_of', lang)} {bundle.as_of.strftime('%d/%m/%Y')}"
    banner = bundle.illustration.get(lang, "")
    return Section(parts=[("title", f"{label(kind, lang)}: {_names(bundle, lang)[unit]}", subtitle, banner)])


def key_findings(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """The sentences a report opens with."""
    return Section("sections.findings", [("list", "key-findings", findings.key_findings(bundle, unit, lang))])


def progress(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """Progress against each target, the chart of it, the district heatmap (province)
    and the persons reached."""
    section = Section("sections.progress")
    names = bundle.indicators.set_index("code")["name_vi" if lang == "vi" else "name_en"]
    table = bundle.unit_table("progress", unit)
    # Where a unit has no target of its own, its report still shows what it did.
    table = table[(table.status != "no_target") | ((unit != bundle.province) & table.achieved.notna())]
    table = table.sort_values("indicator", key=lambda s: s.map(code_order))
    percent = table.indicator.map(bundle.indicators.set_index("code").measure).eq("percent")
    for column in ("achieved", "expected"):
        table[column] = table[column].where(percent, table[column].round(0)).round(1)
    figures = table
    table = table.copy()
    for column in ("target", "percent_achieved", "expected"):  # no target: blank, not withheld
        table[column] = table[column].astype(object).where(table.status != "no_target", "")
    columns = {key: label(f"columns.{key}", lang) for key in ("target", "achieved", "percent_achieved", "expected")}
    shown = pd.DataFrame(
        {
            label("columns.indicator", lang): table.indicator,
            label("columns.name", lang): table.indicator.map(names),
            label("columns.status", lang): table.status.map(lambda s: label(f"status.{s}", lang)),
            **{columns[key]: table[key] for key in columns},
            label("columns.complete", lang): table.complete.map(
                lambda d: d.strftime("%d/%m/%Y") if pd.notna(d) else ""
            ),
            label("columns.period", lang): table.period.map(_period(bundle, lang)),
        }
    ).reset_index(drop=True)
    digits = {columns["target"]: 0, columns["achieved"]: -1, columns["percent_achieved"]: 0, columns["expected"]: -1}
    section.parts += [
        ("table", "tien-do", shown, digits),
        ("figure", charts.progress(figures, lang), "charts.progress_alt"),
    ]
    shares = district_shares(bundle, lang) if unit == bundle.province else None
    heatmap = charts.heatmap(shares) if shares is not None else None
    if heatmap is not None:
        section.parts += [
            ("heading", _worded(bundle, "sections.heatmap"), 3),
            ("figure", heatmap, _worded(bundle, "charts.heatmap_alt")),
        ]
        if shares.isna().any().any():
            section.parts.append(("note", label("notes.heatmap_blank", lang)))
    section.parts += _by_area(bundle, unit, names, lang)
    people = bundle.unit_table("people", unit)
    if len(people):
        names = pd.concat([names, _plan_names(bundle, lang)])
        people = people.sort_values("indicator", key=lambda s: s.map(code_order)).reset_index(drop=True)
        counts = PEOPLE
        groups = people.indicator.isin(bundle.priority_groups.code)  # counted as persons only
        shown = pd.DataFrame(
            {
                label("columns.indicator", lang): people.indicator,
                label("columns.name", lang): people.indicator.map(names),
                **{
                    label(f"columns.{key}", lang): people[key].astype(object).where(~groups | (key == "people"), "")
                    for key in counts
                },
            }
        )
        section.parts += [
            ("heading", "sections.people", 3),
            ("table", "so-nguoi", shown, {c: 0 for c in shown.columns[2:]}),
            ("note", disclosure.suppression_note(lang)),
        ]
    return section


def _by_area(bundle: Bundle, unit: str, names: pd.Series, lang: str) -> list:
    """The table of what was achieved in each area, where some figures name their commune."""
    table = bundle.unit_table("by_area", unit)
    if table.empty or table.area.eq(UNLOCATED).all():
        return []
    grid = table.pivot_table(index="indicator", columns="area", values="achieved", aggfunc="sum")
    areas = [a for a in ("I", "II", "III", "none", UNLOCATED) if a in grid]
    codes = sorted(grid.index, key=code_order)
    shown = pd.DataFrame(
        {
            label("columns.indicator", lang): codes,
            label("columns.name", lang): [names.get(c, c) for c in codes],
            **{label(f"area.{a}", lang): grid.reindex(codes)[a].fillna(0).to_numpy() for a in areas},
        }
    )
    return [
        ("heading", "sections.by_area", 3),
        ("table", "khu-vuc", shown, {label(f"area.{a}", lang): 0 for a in areas}),
    ]


def _plan_names(bundle: Bundle, lang: str) -> pd.Series:
    """Names of the priority groups and milestones, by code."""
    name = "name_vi" if lang == "vi" else "name_en"
    return pd.concat([bundle.priority_groups.set_index("code")[name], bundle.milestone_names.set_index("code")[name]])


def report_year(bundle: Bundle) -> int:
    """The year a report looks at: a scheduled review's own, else that of its figures."""
    return int(bundle.review[:4]) if bundle.review[:4].isdigit() else bundle.as_of.year


def milestones(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """Each milestone due by the end of the review's year, where it stands, and (in the
    province's report) how many districts stand where on theirs."""
    section = Section("sections.milestones")
    plan = bundle.milestone_names.set_index("code")
    name = "name_vi" if lang == "vi" else "name_en"
    year = report_year(bundle)
    table = bundle.unit_table("milestones", unit)
    table = table.loc[table.due.map(lambda d: d.year <= year).astype(bool)]
    theirs = bundle.milestones.loc[bundle.milestones.due.map(lambda d: d.year <= year).astype(bool)]
    if table.empty and (unit != bundle.province or theirs.empty):
        return Section(section.heading, [("paragraph", label("notes.no_milestones", lang).format(year=year))])
    order = {code: k for k, code in enumerate(plan.index)}
    table = table.assign(order=table.milestone.map(order)).sort_values(["order", "year"])
    counts = table.status.value_counts()
    section.parts.append(
        ("paragraph", label("notes.milestone_summary", lang).format(**{s: int(counts.get(s, 0)) for s in STATUSES}))
    )
    shown = pd.DataFrame(
        {
            label("columns.milestone", lang): table.key,
            label("columns.activity", lang): table.milestone.map(plan[name]),
            label("columns.agency", lang): table.milestone.map(plan[f"agency_{lang}"]),
            label("columns.due", lang): [
                d.strftime("%d/%m/%Y") + ("" if dated else " *") for d, dated in zip(table.due, table.dated)
            ],
            label("columns.status", lang): table.status.map(lambda s: label(f"status.{s}", lang)),
            label("columns.done_on", lang): table.done_on.map(lambda d: d.strftime("%d/%m/%Y") if pd.notna(d) else ""),
            label("columns.source", lang): table.milestone.map(plan.source).map(
                lambda t: labels.plan_reference(t, lang, bundle.plan_terms)
            ),
        }
    ).reset_index(drop=True)
    section.parts += [
        ("table", "moc-hoat-dong", shown, {}),
        ("note", label("notes.milestones", lang).format(year=year)),
    ]
    if unit == bundle.province:
        summary = milestone_summary(theirs, bundle.province)
        summary = summary.assign(order=summary.milestone.map(order)).sort_values(["order", "year"])
        shown = pd.DataFrame(
            {
                label("columns.milestone", lang): summary.key,
                label("columns.activity", lang): summary.milestone.map(plan[name]),
                label("columns.due", lang): summary.due.map(lambda d: d.strftime("%d/%m/%Y")),
                **{label(f"status.{s}", lang): summary[s] for s in STATUSES},
            }
        ).reset_index(drop=True)
        section.parts += [
            ("heading", "sections.milestones_districts", 3),
            ("table", "moc-cac-huyen", shown, {label(f"status.{s}", lang): 0 for s in STATUSES}),
        ]
    return section


def reform(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """After the 2025 reform, in the province's report: the new communes that reported,
    the old district each counts in, and those that span two (counted in the province's
    total only), with their headline figures. Empty when no new commune reported."""
    section = Section("sections.reform")
    units = bundle.units[
        bundle.units.unit.isin(bundle.progress.unit) & ~bundle.units.level.isin(["province", bundle.unit_level])
    ]
    if unit != bundle.province or units.empty:
        return Section()
    names = _names(bundle, lang)
    headline = allocated(bundle)  # the indicators of Appendix 01, allocated to the old districts
    achieved = bundle.progress[bundle.progress.unit.isin(units.unit)].pivot_table(
        index="unit", columns="indicator", values="achieved", aggfunc="first"
    )
    olds = units.set_index("unit").old_districts.map(lambda d: [x for x in d.split(";") if x])
    counted = olds.map(lambda d: names.get(d[0], d[0]) if len(d) == 1 else label("reform.province_only", lang))
    shown = pd.DataFrame(
        {
            label("columns.indicator", lang): units.unit.to_numpy(),
            label("columns.unit_name", lang): units.unit.map(names).to_numpy(),
            label("columns.formed_from", lang): olds.map(lambda d: ", ".join(names.get(x, x) for x in d)).to_numpy(),
            label("columns.counted_in", lang): counted.to_numpy(),
            **{  # blank where a commune reported nothing: not reported, not withheld
                code: achieved.reindex(units.unit)[code].astype(object).where(lambda v: v.notna(), "").to_numpy()
                if code in achieved
                else ""
                for code in headline
            },
        }
    )
    spans = olds.map(len).gt(1).to_numpy()
    section.parts += [
        ("paragraph", label("reform.intro", lang).format(count=len(units), spans=int(spans.sum()))),
        ("table", "xa-moi", shown, dict.fromkeys(headline, -1)),
    ]
    return section


def allocated(bundle: Bundle) -> list[str]:
    """The count indicators the plan allocates to districts, in the plan's order."""
    targets = bundle.progress
    districts = targets[(targets.unit != bundle.province) & targets.target.notna()]
    counts = set(bundle.indicators.code[bundle.indicators.measure == "count"])
    return sorted(set(districts.indicator) & counts, key=code_order)


def _worded(bundle: Bundle, key: str) -> str:
    """The label of ``key`` worded for the plan's reporting units: ``<key>_communes`` where
    the new communes report (a plan made after the reform) and such a label exists."""
    worded = f"{key}_communes"
    return worded if bundle.unit_level == COMMUNE_LEVEL and has_label(worded) else key


def former_district(bundle: Bundle, lang: str = "vi") -> pd.Series:
    """Each reporting unit's group by former district, by unit code: the name of the old
    district a new commune was formed within, one label for those formed across several."""
    units = bundle.units.set_index("unit")
    names = units.old_district_names.fillna("").str.split(";")
    return names.map(lambda n: n[0] if len(n) == 1 and n[0] else label("reform.several_districts", lang))


def district_shares(bundle: Bundle, lang: str = "vi") -> pd.DataFrame:
    """Percent of target achieved by district (rows) for the count indicators that the
    plan allocates to districts (columns); in a plan by new communes, the communes'
    figures and targets added up by former district."""
    targets = bundle.progress
    districts = targets[(targets.unit != bundle.province) & targets.target.notna()]
    codes = allocated(bundle)
    chosen = districts[districts.indicator.isin(codes)]
    if bundle.unit_level == COMMUNE_LEVEL:
        chosen = (
            chosen.assign(unit=chosen.unit.map(former_district(bundle, lang)))
            .groupby(["unit", "indicator"], as_index=False)[["achieved", "target"]]
            .sum(min_count=1)
        )
        grid = chosen.assign(share=chosen.achieved / chosen.target * 100, district=chosen.unit)
    else:
        grid = chosen.assign(
            share=chosen.achieved / chosen.target * 100, district=chosen.unit.map(_names(bundle, lang))
        )
    return grid.pivot(index="district", columns="indicator", values="share").reindex(columns=codes).astype(float)


def surveyed(bundle: Bundle) -> bool:
    """Whether the run estimated outcomes from a survey."""
    return not bundle.outcomes.empty


def outcomes(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """Outcome indicators per survey round, with intervals, sizes and flags; without a
    survey, the sentence that says so."""
    if not surveyed(bundle):
        return Section("sections.outcomes", [("paragraph", label("notes.no_survey", lang))])
    definitions = bundle.outcome_definitions
    names = definitions.set_index("code")["name_vi" if lang == "vi" else "name_en"]
    estimates = disclosure.hide_withheld(bundle.unit_table("outcomes", unit))
    ci = label("columns.ci", lang)
    flags, notes = _flags(estimates.itertuples(), lang, bundle.design.get("standard_rules", []))
    shown = pd.DataFrame(
        {
            label("columns.indicator", lang): estimates.indicator,
            label("columns.name", lang): estimates.indicator.map(names),
            label("columns.round", lang): estimates["round"].map(lambda r: label(f"round.{r}", lang)),
            label("columns.estimate", lang): 100 * estimates.estimate,
            ci + " −": 100 * estimates.ci_low,
            ci + " +": 100 * estimates.ci_high,
            label("columns.n", lang): estimates.n,
            label("columns.df", lang): estimates.df,
            label("columns.flag", lang): flags,
        }
    )
    digits = {c: 1 for c in shown.columns[3:6]} | {label("columns.n", lang): 0, label("columns.df", lang): 0}
    codes = sorted(estimates.indicator.unique(), key=code_order)
    standard = standard_note(bundle.design, lang)
    return Section(
        "sections.outcomes",
        [
            ("table", "ket-qua", shown, digits),
            *notes,
            ("note", standard),
            ("figure", charts.outcomes(estimates, codes, lang), "charts.outcomes_alt"),
        ],
    )


LAGGING = 10  # the communes a province report lists per headline outcome, those that lag most first


def small_areas(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """Model-based (Fay-Herriot) estimates of the headline outcomes for the new
    communes: a commune's own, beside its direct estimate where the standard lets that
    be shown; in the province's report, the communes that lag most, ranked (nothing
    without such estimates)."""
    table = bundle.small_areas
    if not len(table):
        return Section()
    names = bundle.outcome_definitions.set_index("code")["name_vi" if lang == "vi" else "name_en"]
    ci, model = label("columns.ci", lang), label("columns.model_estimate", lang)
    rows = table[table.unit == unit] if unit != bundle.province else table
    if not len(rows):
        return Section()
    # A proportion is shown within 0-100%; the standard judged the model's own interval.
    rows = rows.assign(**{c: rows[c].clip(0, 1) for c in ("estimate", "ci_low", "ci_high")})
    if unit == bundle.province:
        better = bundle.outcome_definitions.set_index("code").higher_is_better
        rows = disclosure.hide_withheld(rows).dropna(subset=["estimate"])
        rows = rows.assign(_lag=rows.estimate.where(rows.indicator.map(better).astype(bool), -rows.estimate))
        rows = rows.sort_values(["indicator", "_lag"]).groupby("indicator", sort=False).head(LAGGING)
        communes = _names(bundle, lang)
        shown = pd.DataFrame(  # the commune and its figure first: what a phone shows without scrolling
            {
                label("columns.commune", lang): rows.unit.map(lambda u: communes.get(u, u)),
                label("columns.indicator", lang): rows.indicator,
                model: 100 * rows.estimate,
                ci + " −": 100 * rows.ci_low,
                ci + " +": 100 * rows.ci_high,
                label("columns.name", lang): rows.indicator.map(names),
            }
        )
        first = rows[rows.indicator == rows.indicator.iloc[0]] if len(rows) else rows
        parts = [
            ("note", label("notes.small_areas_lagging", lang).format(count=LAGGING)),
            ("table", "xa-mo-hinh", shown, {c: 1 for c in shown.columns[2:5]}),
            ("figure", charts.ranked(first, communes, lang), "charts.ranked_alt"),
        ]
    else:
        direct = disclosure.hide_withheld(
            rows.assign(estimate=rows.direct, ci_low=rows.direct_low, ci_high=rows.direct_high, flag=rows.direct_flag)
        )
        rows = disclosure.hide_withheld(rows)
        shown = pd.DataFrame(
            {
                label("columns.indicator", lang): rows.indicator,
                label("columns.name", lang): rows.indicator.map(names),
                model: 100 * rows.estimate,
                ci + " −": 100 * rows.ci_low,
                ci + " +": 100 * rows.ci_high,
                label("columns.direct_estimate", lang): 100 * direct.estimate,
                label("columns.survey_weight", lang): 100 * rows.shrinkage,
                label("columns.n", lang): rows.n,
            }
        )
        parts = [
            ("table", "xa-mo-hinh", shown, {c: (0 if i == 7 else 1) for i, c in enumerate(shown.columns) if i >= 2})
        ]
    if bundle.review:  # a review names the survey round its estimates come from
        latest = table["round"].iloc[0]
        year = bundle.design.get("round_years", {}).get(latest, "")
        parts.insert(
            0,
            (
                "note",
                label("notes.small_areas_round", lang).format(round=label(f"round.{latest}", lang).lower(), year=year),
            ),
        )
    return Section("sections.small_areas", [*parts, ("note", label("notes.model_based", lang))])


def changes(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """Change since baseline and the difference from comparison villages (none without a
    survey)."""
    if not surveyed(bundle):
        return Section()
    section = Section()
    section.parts.append(("heading", "sections.changes", 3))
    tables = {name: bundle.unit_table(name, unit) for name in ("changes", "effects")}
    if not len(tables["changes"]):
        section.parts.append(("note", label("notes.no_changes", lang)))
        return section
    names = bundle.outcome_definitions.set_index("code")["name_vi" if lang == "vi" else "name_en"]
    change = tables["changes"].set_index("indicator")
    effects = tables["effects"][tables["effects"].comparison == "pooled"].set_index("indicator")
    within = tables["effects"][tables["effects"].comparison == "within_district"].set_index("indicator")
    codes = list(change.index)

    def column(table, name, scale=100.0):
        return [scale * table[name].get(c, np.nan) if name in table else np.nan for c in codes]

    ci, p_value, logit = label("columns.ci", lang), label("columns.p_value", lang), label("columns.logit", lang)
    change_p = label("columns.change_p", lang)
    flagged, notes = _flags(effects.itertuples(), lang, bundle.design.get("standard_rules", []), "difference")
    flags = dict(zip(effects.index, flagged))
    effect, logits = column(effects, "estimate"), column(effects, "logit_estimate", 1.0)
    # no logit difference where a share is 0% or 100%: it does not exist, nothing is withheld
    logits = [v if not (np.isnan(v) and not np.isnan(e)) else "" for v, e in zip(logits, effect)]
    shown = pd.DataFrame(
        {
            label("columns.indicator", lang): codes,
            label("columns.name", lang): [names[c] for c in codes],
            label("columns.change", lang): column(change, "estimate"),
            change_p: column(change, "p_value", 1.0),
            label("columns.effect", lang): effect,
            ci + " −": column(effects, "ci_low"),
            ci + " +": column(effects, "ci_high"),
            p_value: column(effects, "p_value", 1.0),
            logit: logits,
            label("columns.flag", lang): [flags.get(c, "") for c in codes],
        }
    )
    if len(within):
        shown.insert(8, label("columns.within", lang), column(within, "estimate"))
    digits = {c: (3 if c in (change_p, p_value, logit) else 1) for c in shown.columns[2:-1]}
    ordered = effects.reindex(sorted(effects.index, key=code_order))
    section.parts += [
        ("table", "thay-doi-chenh-lech", shown, digits),
        *notes,
        ("note", label("notes.effect_meaning", lang)),
        ("figure", charts.effects(ordered, lang), "charts.effects_alt"),
    ]
    return section


def group_name(dimension: str, group: str, lang: str = "vi") -> str:
    """A group as the reader names it: its value, an ethnic group's in English without
    diacritics unless ``labels.yaml`` names it."""
    key = f"{dimension}.{group}"
    if dimension != "ethnicity":
        return group
    if labels.has_label(key):
        return label(key, lang)
    return group if lang == "vi" else without_diacritics(group)


def breakdowns(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """Outcomes of the latest round by group, and the headline outcomes by ethnic group
    (none without a survey)."""
    if not surveyed(bundle):
        return Section()
    table = disclosure.hide_withheld(bundle.unit_table("breakdowns", unit))
    latest = table[table["round"] == bundle.rounds[-1]]
    ci = label("columns.ci", lang)
    flags, notes = _flags(latest.itertuples(), lang, bundle.design.get("standard_rules", []))
    shown = pd.DataFrame(
        {
            label("columns.dimension", lang): latest.dimension.map(lambda d: label(f"dimension.{d}", lang)),
            label("columns.group", lang): [group_name(d, g, lang) for d, g in zip(latest.dimension, latest.group)],
            label("columns.indicator", lang): latest.indicator,
            label("columns.estimate", lang): 100 * latest.estimate,
            ci + " −": 100 * latest.ci_low,
            ci + " +": 100 * latest.ci_high,
            label("columns.n", lang): latest.n,
            label("columns.flag", lang): flags,
        }
    )
    definitions = bundle.outcome_definitions
    codes = list(definitions.code[definitions.headline])
    drawn = latest[(latest.dimension == "ethnicity") & latest.indicator.isin(codes)].dropna(subset=["estimate"])
    names = {g: group_name("ethnicity", g, lang) for g in drawn.group}
    return Section(
        parts=[
            ("heading", "sections.breakdowns", 3),
            ("table", "phan-to", shown, {c: 1 for c in shown.columns[3:6]} | {label("columns.n", lang): 0}),
            *notes,
            ("figure", charts.groups(drawn, codes, names, lang), "charts.breakdown_alt"),
        ]
    )


def quality(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """Reports received, on time and late per round, and the data problems still open."""
    province = unit == bundle.province
    complete = bundle.completeness if province else bundle.completeness[bundle.completeness.district == unit]
    summary = completeness_summary(complete)
    keys = ("expected_reports", "received", "on_time", "late", "missing", "resubmitted")
    columns = dict(zip(keys, ("expected", "received", "on_time", "late", "missing", "resubmitted")))
    shown = pd.DataFrame(
        {
            label("columns.period", lang): summary.period.map(_period(bundle, lang)),
            **{label(f"columns.{key}", lang): summary[column] for key, column in columns.items()},
            # no report late: there are no days late to average, nothing is withheld
            label("columns.mean_days_late", lang): summary.mean_days_late.astype(object).where(summary.late > 0, ""),
        }
    )
    digits = {c: 0 for c in shown.columns[1:7]} | {label("columns.mean_days_late", lang): 1}
    section = Section(
        "sections.quality",
        [
            ("table", "bao-cao", shown, digits),
            (
                "figure",
                charts.completeness(summary.assign(period=summary.period.map(_period(bundle, lang))), lang),
                "charts.completeness_alt",
            ),
        ],
    )
    problems = bundle.problems if province else bundle.problems[bundle.problems.district.isin([unit, ""])]
    if problems.empty:
        section.parts.append(("note", label("notes.no_problems", lang)))
        return section
    names = _names(bundle, lang)
    shown = pd.DataFrame(
        {
            label("columns.kind", lang): problems.kind.map(lambda k: label(f"problem_kind.{k}", lang)),
            label(_worded(bundle, "columns.district"), lang): problems.district.map(lambda d: names.get(d, "")),
            label("columns.period", lang): problems.period.map(_period(bundle, lang)),
            label("columns.indicator", lang): problems.indicator,
            label("columns.detail", lang): [problem_detail(p, lang) for p in problems.itertuples()],
        }
    )
    section.parts.append(("table", "van-de", shown, {}))
    return section


def problem_detail(problem, lang: str = "vi") -> str:
    """What a reader is told of one open data problem."""
    if problem.kind == "warning":
        return f"{problem.file}: {problem.message_vi if lang == 'vi' else problem.message_en}"
    if problem.kind == "outlier":
        value, z = formats.fmt(problem.value, -2, lang), formats.fmt(problem.z, 1, lang)
        return label("problem_detail.outlier", lang).format(value=value, z=z)
    return label(f"problem_detail.{problem.kind}", lang)


def plan_findings(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """What the plan says of itself: its contradictions, with their sources."""
    found = bundle.findings
    if found.empty:
        return Section("sections.plan", [("note", label("notes.no_contradictions", lang))])
    terms = bundle.plan_terms
    messages = found.message if lang == "vi" else found.message_en.map(lambda m: labels.plan_reference(m, "en", terms))
    shown = pd.DataFrame(
        {
            label("columns.message", lang): messages,
            label("columns.source", lang): found.source.map(lambda s: labels.plan_reference(s, lang, terms)),
        }
    )
    return Section("sections.plan", [("table", "ke-hoach", shown, {})])


def design_text(design: dict, lang: str = "vi") -> str:
    """The survey design as the run used it: its calibration and margins, the villages
    surveyed in several rounds."""

    def dimension(name: str) -> str:
        return label(f"dimension.{name}", lang).lower() if labels.has_label(f"dimension.{name}") else name

    calibration = calibrated = repeated = ""
    if design.get("calibration"):
        margins = label("methods.margin_join", lang).join(
            " × ".join(dimension(d) for d in margin) for margin in design["calibration_margins"]
        )
        method = label("calibration_method." + design["calibration"], lang)
        calibration = label("methods.design_calibration", lang).format(method=method, margins=margins)
        calibrated = label("methods.design_calibrated", lang)
    if design.get("repeated_villages"):
        repeated = label("methods.design_repeated", lang).format(count=design["repeated_villages"])
    variance = label(f"methods.variance.{design.get('variance', 'taylor')}", lang).format(calibrated=calibrated)
    text = label("methods.design_text", lang).format(
        calibration=calibration,
        variance=variance,
        repeated=repeated,
        interval=label(f"intervals.{design.get('interval', 'korn-graubard')}", lang),
    )
    if design.get("single_psu_strata"):
        lonely = label(f"methods.lonely_psu.{design['lonely_psu']}", lang)
        text += " " + label("methods.single_psu", lang).format(count=design["single_psu_strata"], how=lonely)
    return text


def _covariate(name: str, lang: str) -> str:
    """A small-area covariate as readers name it: a register column, or the share of
    villages at one level of it ("zone=III": the share of villages in zone III)."""
    column, _, level = name.partition("=")
    if not level:
        return label(f"methods.covariate.{column}", lang) if has_label(f"methods.covariate.{column}") else column
    named = f"area.{level}" if column == "zone" else ""
    return label("methods.covariate_level", lang).format(
        level=label(named, lang) if named and has_label(named) else f"{column} {level}"
    )


def methods(bundle: Bundle, unit: str, lang: str = "vi") -> Section:
    """The survey design, the sample, the rules of presentation and the definitions (none
    without a survey)."""
    if not surveyed(bundle):
        return Section()
    design = bundle.design
    keys = ("strata", "psus", "df", "respondents")
    facts = pd.DataFrame(
        {
            label("columns.item", lang): [label(f"methods.{k}", lang) for k in keys],
            label("columns.value", lang): [design[k] for k in keys],
        }
    )
    section = Section(
        "sections.methods",
        [
            ("paragraph", design_text(design, lang)),
            ("table", "thiet-ke", facts, {label("columns.value", lang): 0}),
        ],
    )
    small = design.get("small_areas") or {}
    if small.get("indicators"):
        checks = "; ".join(
            label("methods.small_area_check", lang).format(
                code=code,
                areas=fact["areas"],
                shrinkage=formats.fmt(100 * fact["shrinkage"], 1, lang),
                mean=formats.fmt(fact["residual_mean"], 2, lang),
                sd=formats.fmt(fact["residual_sd"], 2, lang),
            )
            for code, fact in small["indicators"].items()
        )
        covariates = ", ".join(_covariate(c, lang) for c in small["covariates"])
        text = label("methods.small_areas", lang).format(covariates=covariates, checks=checks)
        section.parts.append(("paragraph", text))
    if design.get("not_read"):
        section.parts.append(("note", label("methods.not_read", lang).format(count=len(design["not_read"]))))
    grouped = {k: v for k, v in design.get("grouped_as_other", {}).items() if v}
    if grouped:
        counts = ", ".join(
            f"{label('dimension.' + k, lang) if labels.has_label('dimension.' + k) else k}: {v}"
            for k, v in grouped.items()
        )
        section.parts.append(("note", label("methods.grouped_as_other", lang).format(counts=counts)))
    sample = bundle.unit_table("sample", unit)
    n, psus = label("columns.n", lang), label("methods.psus", lang)
    shown = pd.DataFrame(
        {
            label("columns.round", lang): sample["round"].map(lambda r: label(f"round.{r}", lang)),
            n: sample.respondents,
            psus: sample.villages,
        }
    )
    section.parts.append(("table", "co-mau", shown, {n: 0, psus: 0}))
    section.parts.append(("note", label("methods.reliability_text", lang)))
    shares = {k: formats.fmt(100 * v, 0, lang) for k, v in thresholds().items()}
    section.parts.append(("note", label("methods.status_text", lang).format(**shares)))
    section.parts.append(("note", disclosure.suppression_note(lang)))
    section.parts.append(("note", standard_note(design, lang)))
    definitions = bundle.outcome_definitions
    vi = lang == "vi"
    shown = pd.DataFrame(
        {
            label("columns.indicator", lang): definitions.code,
            label("columns.name", lang): definitions["name_vi" if vi else "name_en"],
            label("columns.universe", lang): definitions["universe_vi" if vi else "universe_en"],
            label("columns.higher_is_better", lang): definitions.higher_is_better.map(
                lambda h: label("better.higher" if h else "better.lower", lang)
            ),
        }
    )
    section.parts += [("heading", "methods.definitions", 3), ("table", "dinh-nghia", shown, {})]
    return section

"""The evaluation of one phase: progress against the plan, outcome indicators per round,
changes since baseline and effects against comparison villages, as plain tables.

``build`` computes everything a run's reports show, once, into a ``Bundle``; each
report notebook takes its unit's part with ``Bundle.for_unit``. ``key_findings``
writes the sentences a report opens with, from the same tables.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from d8lib import outcomes, progress, publish, quality, standards, weighting
from d8lib.codebook import Codebook, load_codebook, read_round, variables
from d8lib.comparisons import (
    difference_in_differences,
    within_difference_in_differences,
)
from d8lib.paths import DATA_DIR
from d8lib.plan import Plan
from d8lib.store import Store
from d8lib.survey import Design
from d8lib.units import Units

CODE_COLUMNS = {
    "district": str,
    "commune": str,
    "commune_2025": str,
    "village": str,
    "stratum": str,
    "household": str,
    "respondent_id": str,
}


class BridgeError(ValueError):
    """Survey rows that cannot be placed in a district of the plan."""


class SurveyDataError(ValueError):
    """Survey rounds whose villages contradict the register or each other."""


def _names(values) -> str:
    values = sorted(map(str, values))
    return ", ".join(values[:10]) + (f" (+{len(values) - 10})" if len(values) > 10 else "")


@lru_cache(maxsize=1)
def settings() -> dict:
    """The evaluation's choices (``data/evaluation.yaml``): its phases (the survey
    rounds each compares and the date its figures run to by default) and breakdowns."""
    return yaml.safe_load((DATA_DIR / "evaluation.yaml").read_text(encoding="utf-8"))


def phase_rounds(phase: str) -> list[str]:
    """The survey rounds a phase compares, oldest first."""
    return list(settings()["phases"][phase]["rounds"])


def default_as_of(phase: str) -> dt.date:
    """The date a phase's figures run to when a run names none."""
    return settings()["phases"][phase]["as_of"]


def survey_codebook(data_dir: Path) -> Codebook:
    """The codebook of a data folder's survey files (``survey/codebook.yaml``)."""
    return load_codebook(Path(data_dir) / "survey" / "codebook.yaml")


def bridge(survey: pd.DataFrame, villages: pd.DataFrame, units: Units) -> pd.DataFrame:
    """Give every row its district (and commune) of before the commune reform.

    Rows coded by post-reform commune are placed through their village in the village
    register; a row whose village is unknown goes through the crosswalk when its new
    commune lies in one old district only. Anything else is an error that names the rows.
    """
    if "district" in survey and survey.district.notna().all():
        return survey
    register = villages.set_index("village")[["district", "commune"]]
    placed = survey.join(register.add_suffix("_register"), on="village")
    for column in ("district", "commune"):
        known = placed.pop(f"{column}_register")
        placed[column] = placed[column].fillna(known) if column in placed else known
    unplaced = placed.district.isna()
    if unplaced.any() and "commune_2025" in placed:
        cross = units.crosswalk.groupby("new_code").old_district_code.unique()
        single = cross[cross.map(len) == 1].map(lambda a: a[0])
        placed.loc[unplaced, "district"] = placed.loc[unplaced, "commune_2025"].map(single)
        unplaced = placed.district.isna()
    if unplaced.any():
        rows = ", ".join(map(str, placed.index[unplaced][:10] + 2))
        raise BridgeError(
            f"Không xác định được huyện (trước sắp xếp đơn vị hành chính) cho {unplaced.sum()} dòng (dòng {rows}) / "
            f"{unplaced.sum()} survey rows cannot be placed in a pre-reform district (rows {rows})"
        )
    return placed


def load_surveys(data_dir: Path, rounds: list[str], units: Units) -> pd.DataFrame:
    """The survey rounds of a phase, stacked: every row with its pre-reform district,
    its village's project status from the village register (intention to treat) and a
    weight adjusted for nonresponse; only the women interviewed remain."""
    villages = pd.read_csv(data_dir / "villages.csv", dtype=CODE_COLUMNS)
    codebook = survey_codebook(data_dir)
    frames, grouped = [], {}
    for name in rounds:
        frame = read_round(codebook, name)
        for variable, count in frame.attrs.get("grouped_as_other", {}).items():
            grouped[variable] = grouped.get(variable, 0) + count
        frames.append(bridge(frame, villages, units).assign(round=name))
    stacked = pd.concat(frames, ignore_index=True)
    stacked["round"] = pd.Categorical(stacked["round"], categories=variables()["round"]["values"], ordered=True)
    stacked = assign_from_register(stacked, villages)
    check_strata(stacked)
    stacked = respondents(stacked)
    stacked.attrs["grouped_as_other"] = grouped
    return stacked


def respondents(stacked: pd.DataFrame) -> pd.DataFrame:
    """The women interviewed, their weights adjusted for the nonresponse of their
    village in their round (of their stratum where nobody in the village answered).
    Rows without a ``response`` column are all taken as interviewed."""
    if "response" not in stacked:
        return stacked
    completed = stacked.response.eq("completed")
    rounds = stacked["round"].astype(str) + "|"
    adjusted = weighting.adjust_for_nonresponse(
        stacked.assign(round_village=rounds + stacked.village, round_stratum=rounds + stacked.stratum),
        "weight",
        completed,
        ["round_village", "round_stratum"],
    )
    return stacked.assign(weight=adjusted)[completed].reset_index(drop=True)


def assign_from_register(stacked: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """Each row's project status as the village register has it. A village whose status
    in a survey file differs from the register, or between rounds, is an error that
    names it: assignment is what the register said at baseline."""
    register = villages.set_index("village").project
    unknown = set(stacked.village) - set(register.index)
    if unknown:
        raise SurveyDataError(
            f"Thôn không có trong danh sách thôn: {_names(unknown)} / "
            f"Villages not in the village register: {_names(unknown)}"
        )
    assigned = stacked.village.map(register).astype(int)
    if "project" in stacked:
        differs = stacked.project.notna() & (stacked.project.astype(float) != assigned)
        if differs.any():
            names = _names(stacked.village[differs].unique())
            raise SurveyDataError(
                f"Tình trạng dự án của thôn khác với danh sách thôn ban đầu: {names} / "
                f"Project status differs from the baseline village register in villages {names}"
            )
    return stacked.assign(project=assigned)


def check_strata(stacked: pd.DataFrame) -> None:
    """A village visited in several rounds must keep its stratum (it is one PSU)."""
    strata = stacked.groupby("village").stratum.nunique()
    moved = strata.index[strata > 1]
    if len(moved):
        raise SurveyDataError(
            f"Thôn thuộc hai tầng khác nhau giữa các vòng: {_names(moved)} / "
            f"Villages under two strata across rounds: {_names(moved)}"
        )


def calibration_settings(data_dir: Path) -> dict | None:
    """The dataset's calibration (``survey/calibration.yaml``), or None without one."""
    path = Path(data_dir) / "survey" / "calibration.yaml"
    if not path.exists():
        return None
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["totals"] = pd.read_csv(path.parent / settings["totals"], dtype=CODE_COLUMNS)
    return settings


def survey_design(stacked: pd.DataFrame, calibration: dict | None = None) -> Design:
    """The design of the stacked rounds: strata as drawn, villages as PSUs. A village
    visited in several rounds is one PSU, so that changes carry its covariance. With
    ``calibration`` (see ``calibration_settings``), each round's weights are calibrated
    to its population totals on the margins named there."""
    if calibration is None:
        return Design(stacked, "weight", strata="stratum", psu="village")
    margins = [["round", *m] for m in calibration["margins"]]
    totals = calibration["totals"]
    totals = totals[totals["round"].isin(stacked["round"].astype(str).unique())]
    keyed, population = weighting.margins_from_totals(
        totals,
        stacked.assign(round=stacked["round"].astype(str)),
        margins,
        calibration["minimum_cell"],
        value=calibration["value"],
    )
    keyed["round"] = stacked["round"]
    return Design(keyed, "weight", strata="stratum", psu="village").calibrate(population, calibration["method"])


def _per_indicator(design: Design, function, definitions: pd.DataFrame) -> pd.DataFrame:
    """``function(design, universe column, answer column)`` for every indicator, stacked."""
    frames = []
    for code, spec in definitions.iterrows():
        result = function(*outcomes.for_indicator(design, spec))
        if len(result):
            result.insert(0, "indicator", code)
            frames.append(result)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def outcome_changes(
    design: Design, rounds: list[str], by: list[str] | None = None, definitions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Change of each indicator from baseline to the latest round, per domain."""
    definitions = outcomes.load_definitions() if definitions is None else definitions
    by = by or []
    first, last = rounds[0], rounds[-1]

    def change(d: Design, universe: str, answer: str) -> pd.DataFrame:
        cells = d.mean(answer, by=by + [universe, "round"], missing="exclude")
        keys = set(map(tuple, cells[by + [universe, "round"]].itertuples(index=False)))
        domains = [tuple(x) for x in cells[by].drop_duplicates().itertuples(index=False)] if by else [()]
        wanted = [{dom + (1.0, last): 1.0, dom + (1.0, first): -1.0} for dom in domains]
        kept = [(dom, c) for dom, c in zip(domains, wanted) if all(k in keys for k in c)]
        if not kept:
            return pd.DataFrame()
        tests = d.contrasts(answer, by + [universe, "round"], [c for _, c in kept], missing="exclude")
        return pd.concat(
            [pd.DataFrame([{**dict(zip(by, dom)), "from": first, "to": last} for dom, _ in kept]), tests], axis=1
        )

    return _per_indicator(design, change, definitions)


def outcome_effects(
    design: Design,
    rounds: list[str],
    by: list[str] | None = None,
    definitions: pd.DataFrame | None = None,
    within: str | None = None,
) -> pd.DataFrame:
    """Difference from comparison villages (difference in differences, project minus
    comparison villages, baseline to latest round), per domain: pooled over all
    villages, or with ``within`` the average of the differences inside each district
    that has both kinds of village. ``comparison`` says which."""
    definitions = outcomes.load_definitions() if definitions is None else definitions
    by = by or []

    def effect(d: Design, universe: str, answer: str) -> pd.DataFrame:
        arguments = (d, answer, "round", "project", (rounds[0], rounds[-1]), (1, 0))
        if within:
            result = within_difference_in_differences(*arguments, within=within, by=by + [universe], missing="exclude")
        else:
            result = difference_in_differences(*arguments, by=by + [universe], missing="exclude")
        if not len(result):
            return result
        return result.drop(columns=universe).assign(comparison="within_district" if within else "pooled")

    return _per_indicator(design, effect, definitions)


@dataclass
class Bundle:
    """Everything the reports of one run show, computed once."""

    phase: str
    as_of: dt.date
    rounds: list[str]
    province: str
    units: pd.DataFrame  # unit, name, level
    progress: pd.DataFrame
    people: pd.DataFrame  # persons reached, as published: withheld cells are NaN (publish.protect_people)
    completeness: pd.DataFrame
    problems: pd.DataFrame
    findings: list
    indicators: pd.DataFrame
    outcome_definitions: pd.DataFrame
    outcomes: pd.DataFrame  # unit, round, indicator, estimate ...
    breakdowns: pd.DataFrame  # unit, round, dimension, group, indicator, estimate ...
    changes: pd.DataFrame
    effects: pd.DataFrame
    sample: pd.DataFrame  # unit, round, respondents, villages, strata
    design: dict = field(default_factory=dict)
    period: str = ""  # the reporting round of a monitoring review

    def save(self, path: Path) -> Path:
        """Write the bundle in one step: readers never see half a file."""
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
        return path

    def for_unit(self, unit: str) -> dict[str, pd.DataFrame]:
        """The tables of one unit's report (the province's code or a district's)."""

        def pick(frame):
            return frame[frame.unit == unit].drop(columns="unit").reset_index(drop=True) if len(frame) else frame

        return {
            name: pick(getattr(self, name))
            for name in ("progress", "people", "outcomes", "breakdowns", "changes", "effects", "sample")
        }


def load_bundle(path: str | Path, wait: float = 0) -> Bundle:
    """Read a bundle; with ``wait``, wait up to that many seconds for a run that is still
    building it (the run writes ``<path>.failed`` with the reason if it cannot)."""
    path = Path(path)
    failed = path.with_name(path.name + ".failed")
    deadline = time.monotonic() + wait
    while not path.exists() and time.monotonic() < deadline:
        if failed.exists():
            raise RuntimeError(f"The run could not build its tables: {failed.read_text(encoding='utf-8')}")
        time.sleep(0.1)
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _by_unit(frame: pd.DataFrame, province: str, column: str = "district") -> pd.DataFrame:
    if column in frame:
        return frame.rename(columns={column: "unit"})
    return frame.assign(unit=province)


def build(
    plan: Plan,
    data_dir: str | Path | None,
    store: Store,
    phase: str,
    as_of: dt.date | None = None,
    period: str = "",
) -> Bundle:
    """Compute every table of a phase's reports for the province and each district.

    Without ``data_dir`` (a monitoring review of one reporting ``period``) the survey
    tables stay empty.
    """
    as_of = as_of or default_as_of(phase)
    rounds = phase_rounds(phase)
    units = plan.units()
    province = plan.province
    unit_names = pd.concat(
        [
            pd.DataFrame({"unit": [province], "name": [plan.meta["province"]["name"]], "level": ["province"]}),
            plan.districts.assign(level="district"),
        ],
        ignore_index=True,
    )

    values = store.values()
    table = progress.progress(plan, values, as_of)
    people = publish.protect_people(_people(plan, values, as_of), province)
    submissions = store.submissions()
    complete = progress.completeness(plan, submissions, as_of)
    problems = quality.open_problems(plan, store.warnings(), complete, values)

    empty = pd.DataFrame(columns=["unit"])
    estimates = breakdowns = changes = effects = sample = empty
    definitions = outcomes.load_definitions()
    design_facts = {}
    if data_dir is not None:
        standard = standards.load_standard()
        stacked = load_surveys(Path(data_dir), rounds, units)
        calibration = calibration_settings(Path(data_dir))
        design = outcomes.with_indicators(survey_design(stacked, calibration), definitions)

        def estimate(by: list[str]) -> pd.DataFrame:
            return standards.judge(outcomes.estimate(design, by=by, ci=standard.interval), standard)

        def compare(function, **options) -> pd.DataFrame:
            tables = [
                _by_unit(function(design, rounds, definitions=definitions, **options), province),
                _by_unit(function(design, rounds, by=["district"], definitions=definitions), province),
            ]
            return standards.judge(pd.concat(tables, ignore_index=True), standard, kind="difference")

        estimates = pd.concat(
            [_by_unit(estimate(["round"]), province), _by_unit(estimate(["round", "district"]), province)],
            ignore_index=True,
        )
        parts = []
        for dimension in settings()["breakdowns"]:
            for by in (["round", dimension], ["round", "district", dimension]):
                part = estimate(by).rename(columns={dimension: "group"}).assign(dimension=dimension)
                parts.append(_by_unit(part, province))
        breakdowns = pd.concat(parts, ignore_index=True)
        if len(rounds) > 1:
            changes = compare(outcome_changes)
            within = standards.judge(
                _by_unit(outcome_effects(design, rounds, definitions=definitions, within="district"), province),
                standard,
                "difference",
            )
            effects = pd.concat([compare(outcome_effects), within], ignore_index=True)
        estimates, breakdowns = publish.protect_respondents(estimates, breakdowns, province)
        sample = _sample_sizes(stacked, province)
        design_facts = {
            "strata": design.n_strata,
            "psus": design.n_psu,
            "df": design.df,
            "respondents": len(stacked),
            "calibration": calibration["method"] if calibration else "",
            "standard": standard.name,
            "not_read": survey_codebook(Path(data_dir)).personal,
            "round_years": {r: survey_codebook(Path(data_dir)).rounds[r].get("year") for r in rounds},
            "grouped_as_other": stacked.attrs.get("grouped_as_other", {}),
        }
    return Bundle(
        phase=phase,
        as_of=as_of,
        rounds=rounds,
        province=province,
        units=unit_names,
        progress=table,
        people=people,
        completeness=complete,
        problems=problems,
        findings=plan.check(),
        indicators=plan.indicators,
        outcome_definitions=definitions,
        outcomes=estimates,
        breakdowns=breakdowns,
        changes=changes,
        effects=effects,
        sample=sample,
        design=design_facts,
        period=period,
    )


def _people(plan: Plan, values: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Persons reached per indicator (members, participants) by sex, per unit."""
    reached = progress.achieved(plan, values, as_of)
    columns = ["people", "female", "male", "ethnic_minority"]
    if reached.empty:
        return pd.DataFrame(columns=["unit", "indicator"] + columns)
    reached = reached.dropna(subset=["people"])
    province = reached.groupby("indicator", as_index=False)[columns].sum(min_count=1).assign(district=plan.province)
    both = pd.concat([reached[["district", "indicator"] + columns], province], ignore_index=True)
    return both.rename(columns={"district": "unit"})


def _sample_sizes(stacked: pd.DataFrame, province: str) -> pd.DataFrame:
    whole = (
        stacked.groupby("round", observed=True)
        .agg(respondents=("weight", "size"), villages=("village", "nunique"), strata=("stratum", "nunique"))
        .reset_index()
        .assign(unit=province)
    )
    districts = (
        stacked.groupby(["round", "district"], observed=True)
        .agg(respondents=("weight", "size"), villages=("village", "nunique"), strata=("stratum", "nunique"))
        .reset_index()
    )
    return pd.concat([whole, districts.rename(columns={"district": "unit"})], ignore_index=True)


# --- key findings ------------------------------------------------------------------------


def number(value: float, digits: int = 1, lang: str = "vi") -> str:
    """A number as readers of the language write it: 12,5 in Vietnamese, 12.5 in English."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",") if lang == "vi" else text


def key_findings(bundle: Bundle, unit: str, lang: str = "vi") -> list[str]:
    """The sentences a report opens with, each from the unit's tables. Survey figures
    appear only where the presentation standard shows them, with its flag."""
    vi = lang == "vi"
    tables = bundle.for_unit(unit)
    date = bundle.as_of.strftime("%d/%m/%Y")
    sentences = []
    targets = tables["progress"][tables["progress"].status != "no_target"]
    counts = targets.status.value_counts()
    sentences.append(
        f"Đến ngày {date}, {counts.get('completed', 0)} trên {len(targets)} chỉ tiêu đã hoàn thành, "
        f"{counts.get('on_track', 0)} đúng tiến độ, {counts.get('behind', 0)} chậm tiến độ, "
        f"{counts.get('at_risk', 0)} có nguy cơ không đạt và {counts.get('no_data', 0)} chưa có số liệu."
        if vi
        else f"By {date}, {counts.get('completed', 0)} of {len(targets)} targets were completed, "
        f"{counts.get('on_track', 0)} on track, {counts.get('behind', 0)} behind schedule, "
        f"{counts.get('at_risk', 0)} at risk of being missed and {counts.get('no_data', 0)} without data."
    )
    names = bundle.indicators.set_index("code")["name_vi" if vi else "name_en"]
    lagging = targets[targets.expected > 0].assign(ratio=lambda t: t.achieved / t.expected).dropna(subset=["ratio"])
    lagging = lagging[lagging.status.isin(["behind", "at_risk"])].sort_values("ratio").head(1)
    measures = bundle.indicators.set_index("code").measure
    for t in lagging.itertuples():
        unit_sign = "%" if measures[t.indicator] == "percent" else ""
        achieved, target, expected = (number(v, 0, lang) + unit_sign for v in (t.achieved, t.target, t.expected))
        sentences.append(
            f"Chậm nhất: {names[t.indicator]} mới đạt {achieved} so với chỉ tiêu {target} "
            f"({number(100 * t.achieved / t.target, 0, lang)}% chỉ tiêu), trong khi theo lộ trình cần {expected}."
            if vi
            else f"Furthest behind: {names[t.indicator]} stands at {achieved} against a target of {target} "
            f"({number(100 * t.achieved / t.target, 0, lang)}% of it), where the timeline expects {expected}."
        )
    latest = bundle.rounds[-1]
    definitions = bundle.outcome_definitions
    short = definitions["name_vi" if vi else "name_en"]
    estimates = tables["outcomes"]

    def shown(table: pd.DataFrame, code: str):
        if not len(table):
            return None
        rows = table[table.indicator == code]
        if "comparison" in rows:
            rows = rows[rows.comparison == "pooled"]
        return rows.iloc[0] if len(rows) and rows.flag.iloc[0] in standards.SHOWN else None

    def caution(row) -> str:
        return "" if row.flag == "ok" else (" [cần thận trọng]" if vi else " [interpret with caution]")

    year = bundle.design.get("round_years", {}).get(latest, "")
    for code in definitions.code[definitions.headline] if len(estimates) else ():
        r = shown(estimates[estimates["round"] == latest], code)
        if r is None:
            continue
        text = (
            f"{short[code]}: {number(100 * r.estimate, 1, lang)}% (KTC 95%: {number(100 * r.ci_low, 1, lang)}–"
            f"{number(100 * r.ci_high, 1, lang)}%) năm {year}"
            if vi
            else f"{short[code]}: {number(100 * r.estimate, 1, lang)}% (95% CI {number(100 * r.ci_low, 1, lang)}–"
            f"{number(100 * r.ci_high, 1, lang)}%) in {year}"
        ) + caution(r)
        c = shown(tables["changes"], code)
        if c is not None:
            text += (
                f", thay đổi {number(100 * c.estimate, 1, lang)} điểm % so với đầu kỳ"
                if vi
                else f", a change of {number(100 * c.estimate, 1, lang)} percentage points since baseline"
            ) + caution(c)
        e = shown(tables["effects"], code)
        if e is not None:
            text += (
                f"; chênh lệch so với thôn đối chứng {number(100 * e.estimate, 1, lang)} điểm % "
                f"(KTC 95%: {number(100 * e.ci_low, 1, lang)} đến {number(100 * e.ci_high, 1, lang)})"
                if vi
                else f"; difference from comparison villages {number(100 * e.estimate, 1, lang)} points "
                f"(95% CI {number(100 * e.ci_low, 1, lang)} to {number(100 * e.ci_high, 1, lang)})"
            ) + caution(e)
        sentences.append(text + ".")
    complete = (
        bundle.completeness if unit == bundle.province else bundle.completeness[bundle.completeness.district == unit]
    )
    if len(complete):
        late = int((complete.days_late > 0).sum())
        sentences.append(
            f"Đã nhận {int(complete.received.sum())} trên {len(complete)} báo cáo đến hạn; {late} báo cáo nộp muộn."
            if vi
            else f"{int(complete.received.sum())} of {len(complete)} reports due were received; {late} came late."
        )
    return sentences

"""The sections of a report, as the evaluation and monitoring notebooks show them.

A ``Report`` holds one unit's tables from a ``Bundle``; each section method displays
its heading, tables and charts (already protected by ``d8lib.publish``) and records
every table for the Excel twin that ``save_excel`` writes.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from d8lib import evaluate, publish
from d8lib.publish import fmt, label

# Labels come from data (unit names, ethnic groups): "$" in one is text, not mathtext.
matplotlib.rcParams["text.parse_math"] = False
# Seconds a report waits for the tables its run builds while the kernels start.
BUNDLE_WAIT = 600


def _display(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


class Report:
    """One unit's report: the province (its GSO code) or a district."""

    def __init__(self, bundle: evaluate.Bundle, unit: str, lang: str = "vi"):
        self.bundle, self.unit, self.lang = bundle, unit, lang
        self.tables = bundle.for_unit(unit)
        self.excel: dict[str, pd.DataFrame] = {}
        names = bundle.units.set_index("unit").name
        self.unit_name = publish.unit_name(names[unit], lang)
        self.is_province = unit == bundle.province
        self.indicator_names = bundle.indicators.set_index("code")["name_vi" if lang == "vi" else "name_en"]
        self.outcome_names = bundle.outcome_definitions["name_vi" if lang == "vi" else "name_en"]

    @classmethod
    def open(
        cls,
        phase: str,
        unit: str,
        lang: str = "vi",
        bundle_path: str = "",
        data_dir: str = "",
        plan_path: str = "",
        store_dir: str = "",
        as_of: str = "",
    ) -> Report:
        """The report of a run (``bundle_path``), or one computed here from the inputs."""
        if bundle_path:
            bundle = evaluate.load_bundle(bundle_path, wait=BUNDLE_WAIT)
        else:
            from d8lib.plan import load_plan

            plan = load_plan(plan_path or None)
            bundle = evaluate.build(
                plan,
                Path(data_dir),
                _store(plan, store_dir, data_dir),
                phase,
                dt.date.fromisoformat(as_of) if as_of else None,
            )
        return cls(bundle, unit, lang)

    @classmethod
    def for_round(
        cls, period: str, unit: str, lang: str = "vi", plan_path: str = "", store_dir: str = "", data_dir: str = ""
    ) -> Report:
        """The progress review of one reporting round, as of its deadline."""
        from d8lib.plan import load_plan

        plan = load_plan(plan_path or None)
        rounds = plan.rounds.set_index("period")
        if period not in rounds.index:
            raise ValueError(f"Kỳ báo cáo {period} không có trong kế hoạch / Period {period} is not in the plan")
        as_of = rounds.deadline[period]
        phases = sorted(evaluate.settings()["phases"], key=evaluate.default_as_of)
        phase = next((p for p in phases if as_of <= evaluate.default_as_of(p)), phases[-1])
        bundle = evaluate.build(plan, None, _store(plan, store_dir, data_dir), phase, as_of, period=period)
        return cls(bundle, unit, lang)

    # --- building blocks ------------------------------------------------------------------

    def _l(self, key: str) -> str:
        return label(key, self.lang)

    def heading(self, key: str, level: int = 2) -> None:
        _display(f"<h{level}>{html.escape(self._l(key))}</h{level}>")

    def note(self, text: str) -> None:
        _display(f"<p class='d8-note'>{html.escape(text)}</p>")

    def show(self, name: str, frame: pd.DataFrame, digits: dict[str, int] | None = None, caption: str = "") -> None:
        """Display a published table and keep it for the Excel twin (numbers rounded as shown)."""
        digits = digits or {}
        values = frame.copy()
        for column, d in digits.items():
            values[column] = pd.to_numeric(values[column], errors="coerce").round(abs(d))
        self.excel[name] = values
        shown = values.copy()
        for column in shown.columns:
            if column in digits:
                shown[column] = [fmt(v, digits[column], self.lang) for v in values[column]]
            else:
                shown[column] = [
                    "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values[column]
                ]
        _display(publish.table_html(shown, name, caption, numeric=set(digits)))

    def figure(self, figure, alt_key: str, caption: str = "") -> None:
        _display(publish.figure_html(figure, self._l(alt_key), caption))

    # --- sections ----------------------------------------------------------------------

    def title(self, kind: str = "report_title") -> None:
        b = self.bundle
        what = f"{self._l('round_label')} {b.period}" if b.period else self._l("phase." + b.phase)
        _display(
            f"<header class='d8-header'><h1>{html.escape(self._l(kind))}: {html.escape(self.unit_name)}</h1>"
            f"<p class='d8-subtitle'>{html.escape(what)} · {html.escape(self._l('as_of'))} "
            f"{b.as_of.strftime('%d/%m/%Y')}</p></header>"
        )

    def key_findings(self) -> None:
        self.heading("sections.findings")
        items = "".join(f"<li>{html.escape(s)}</li>" for s in evaluate.key_findings(self.bundle, self.unit, self.lang))
        _display(f"<ul class='d8-findings' id='key-findings'>{items}</ul>")

    def progress(self) -> None:
        self.heading("sections.progress")
        table = self.tables["progress"]
        table = table[table.status != "no_target"].copy()
        percent = table.indicator.map(self.bundle.indicators.set_index("code").measure).eq("percent")
        for column in ("achieved", "expected"):
            table[column] = table[column].where(percent, table[column].round(0)).round(1)
        shown = pd.DataFrame(
            {
                self._l("columns.indicator"): table.indicator,
                self._l("columns.name"): table.indicator.map(self.indicator_names),
                self._l("columns.target"): table.target,
                self._l("columns.achieved"): table.achieved,
                self._l("columns.percent_achieved"): table.percent_achieved,
                self._l("columns.expected"): table.expected,
                self._l("columns.status"): table.status.map(lambda s: self._l(f"status.{s}")),
                self._l("columns.period"): table.period.fillna(""),
            }
        )
        self.show(
            "tien-do",
            shown,
            {
                self._l("columns.target"): 0,
                self._l("columns.achieved"): -1,
                self._l("columns.percent_achieved"): 0,
                self._l("columns.expected"): -1,
            },
        )
        self.figure(self._progress_chart(table), "charts.progress_alt")
        if self.is_province:
            self.heading("sections.heatmap", 3)
            self.figure(self._heatmap(), "charts.heatmap_alt")
        people = self.tables["people"]
        if len(people):
            people = people.sort_values("indicator", key=lambda s: s.map(_code_order)).reset_index(drop=True)
            self.heading("sections.people", 3)
            shown = pd.DataFrame(
                {
                    self._l("columns.indicator"): people.indicator,
                    self._l("columns.name"): people.indicator.map(self.indicator_names),
                    self._l("columns.people"): people.people,
                    self._l("columns.female"): people.female,
                    self._l("columns.male"): people.male,
                    self._l("columns.ethnic_minority"): people.ethnic_minority,
                }
            )
            self.show("so-nguoi", shown, {c: 0 for c in shown.columns[2:]})
            self.note(self._l("notes.suppression"))

    def _progress_chart(self, table: pd.DataFrame):
        import matplotlib.pyplot as plt

        data = table.dropna(subset=["target"]).sort_values("indicator", key=lambda s: s.map(_code_order))
        share = data.achieved / data.target * 100
        expected = data.expected_share * 100
        figure, axis = plt.subplots(figsize=(8, 0.32 * len(data) + 1.2))
        y = np.arange(len(data))
        axis.barh(y, share.clip(upper=150).fillna(0), color=publish.PALETTE[0], label=self._l("charts.achieved"))
        axis.scatter(
            expected, y, marker="|", s=250, color=publish.PALETTE[3], label=self._l("charts.expected"), zorder=3
        )
        axis.set_yticks(y, data.indicator)
        axis.invert_yaxis()
        axis.set_xlabel(self._l("charts.progress_x"))
        axis.axvline(100, color="#555555", linewidth=0.8)
        axis.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
        axis.spines[["top", "right"]].set_visible(False)
        return figure

    def _heatmap(self):
        import matplotlib.pyplot as plt
        import seaborn as sns

        b = self.bundle
        districts = b.progress[b.progress.unit != b.province]
        headline = districts[districts.target.notna() & districts.indicator.isin(self._headline_codes())]
        names = b.units.set_index("unit").name.map(lambda n: publish.unit_name(n, self.lang))
        grid = headline.assign(
            share=headline.achieved / headline.target * 100, district=headline.unit.map(names)
        ).pivot(index="district", columns="indicator", values="share")
        grid = grid[sorted(grid.columns, key=_code_order)]
        figure, axis = plt.subplots(figsize=(9, 4.6))
        sns.heatmap(
            grid,
            annot=True,
            fmt=".0f",
            cmap="cividis",
            vmin=0,
            vmax=100,
            cbar_kws={"label": "%"},
            ax=axis,
            linewidths=0.5,
            linecolor="white",
        )
        axis.set_xlabel("")
        axis.set_ylabel("")
        return figure

    def _headline_codes(self) -> list[str]:
        """Count indicators that the plan allocates to districts."""
        targets = self.bundle.progress
        allocated = targets[(targets.unit != self.bundle.province) & targets.target.notna()].indicator
        counts = self.bundle.indicators.code[self.bundle.indicators.measure == "count"]
        return sorted(set(allocated) & set(counts), key=_code_order)

    def outcomes(self) -> None:
        self.heading("sections.outcomes")
        estimates = publish.hide_withheld(self.tables["outcomes"])
        rounds = estimates["round"].map(lambda r: self._l(f"round.{r}"))
        shown = pd.DataFrame(
            {
                self._l("columns.indicator"): estimates.indicator,
                self._l("columns.name"): estimates.indicator.map(self.outcome_names),
                self._l("columns.round"): rounds,
                self._l("columns.estimate"): 100 * estimates.estimate,
                self._l("columns.ci") + " −": 100 * estimates.ci_low,
                self._l("columns.ci") + " +": 100 * estimates.ci_high,
                self._l("columns.n"): estimates.n,
                self._l("columns.df"): estimates.df,
                self._l("columns.flag"): [self._flag(r) for r in estimates.itertuples()],
            }
        )
        digits = {c: 1 for c in shown.columns[3:6]} | {self._l("columns.n"): 0, self._l("columns.df"): 0}
        self.show("ket-qua", shown, digits)
        self._standard_note()
        self.figure(self._outcome_chart(estimates), "charts.outcomes_alt")
        self.heading("sections.changes", 3)
        if not len(self.tables["changes"]):
            self.note(self._l("notes.no_changes"))
        else:
            changes = self.tables["changes"].set_index("indicator")
            all_effects = self.tables["effects"]
            effects = all_effects[all_effects.comparison == "pooled"].set_index("indicator")
            within = all_effects[all_effects.comparison == "within_district"].set_index("indicator")
            codes = list(changes.index)

            def column(table, name, scale=100.0):
                return [scale * table[name].get(c, np.nan) if name in table else np.nan for c in codes]

            shown = pd.DataFrame(
                {
                    self._l("columns.indicator"): codes,
                    self._l("columns.name"): [self.outcome_names[c] for c in codes],
                    self._l("columns.change"): column(changes, "estimate"),
                    self._l("columns.change") + " p": column(changes, "p_value", 1.0),
                    self._l("columns.effect"): column(effects, "estimate"),
                    self._l("columns.ci") + " −": column(effects, "ci_low"),
                    self._l("columns.ci") + " +": column(effects, "ci_high"),
                    self._l("columns.p_value"): column(effects, "p_value", 1.0),
                    self._l("columns.logit"): column(effects, "logit_estimate", 1.0),
                    self._l("columns.flag"): [self._flag(effects.loc[c]) if c in effects.index else "" for c in codes],
                }
            )
            if len(within):
                shown.insert(8, self._l("columns.within"), column(within, "estimate"))
            self.show(
                "thay-doi-chenh-lech",
                shown,
                {
                    c: (3 if c.endswith("p") or c in (self._l("columns.p_value"), self._l("columns.logit")) else 1)
                    for c in shown.columns[2:-1]
                },
            )
            self.note(self._l("notes.effect_meaning"))
            self.figure(self._effects_chart(effects), "charts.effects_alt")
        self.heading("sections.breakdowns", 3)
        breakdowns = publish.hide_withheld(self.tables["breakdowns"])
        latest = breakdowns[breakdowns["round"] == self.bundle.rounds[-1]]
        group = [
            self._l(f"ethnicity.{g}") if d == "ethnicity" and publish.has_label(f"ethnicity.{g}") else g
            for d, g in zip(latest.dimension, latest.group)
        ]
        shown = pd.DataFrame(
            {
                self._l("columns.dimension"): latest.dimension.map(lambda d: self._l(f"dimension.{d}")),
                self._l("columns.group"): group,
                self._l("columns.indicator"): latest.indicator,
                self._l("columns.estimate"): 100 * latest.estimate,
                self._l("columns.ci") + " −": 100 * latest.ci_low,
                self._l("columns.ci") + " +": 100 * latest.ci_high,
                self._l("columns.n"): latest.n,
                self._l("columns.flag"): [self._flag(r) for r in latest.itertuples()],
            }
        )
        self.show("phan-to", shown, {c: 1 for c in shown.columns[3:6]} | {self._l("columns.n"): 0})
        self.figure(self._breakdown_chart(latest), "charts.breakdown_alt")

    def _flag(self, row) -> str:
        """The presentation flag of a figure with its reasons, as the reader reads it."""
        text = self._l(f"flag.{row.flag}")
        reasons = [self._l(f"reasons.{r}") for r in str(row.reason).split(";") if r]
        return f"{text}: {'; '.join(reasons)}" if reasons and row.flag != "ok" else text

    def _standard_note(self) -> None:
        self.note(self._l("notes.standard").format(standard=self.bundle.design.get("standard", "")))

    def _outcome_chart(self, estimates: pd.DataFrame):
        import matplotlib.pyplot as plt

        codes = sorted(estimates.indicator.unique(), key=_code_order)
        figure, axis = plt.subplots(figsize=(8, 0.45 * len(codes) + 1.2))
        rounds = list(dict.fromkeys(estimates["round"]))
        for k, name in enumerate(rounds):
            part = estimates[estimates["round"] == name].set_index("indicator").reindex(codes)
            y = np.arange(len(codes)) + (k - (len(rounds) - 1) / 2) * 0.22
            axis.errorbar(
                100 * part.estimate,
                y,
                xerr=[100 * (part.estimate - part.ci_low), 100 * (part.ci_high - part.estimate)],
                fmt="o",
                color=publish.PALETTE[k],
                label=self._l(f"round.{name}"),
                capsize=2,
            )
        axis.set_yticks(np.arange(len(codes)), codes)
        axis.invert_yaxis()
        axis.set_xlabel(self._l("charts.percent"))
        axis.legend(frameon=False, loc="best")
        axis.spines[["top", "right"]].set_visible(False)
        return figure

    def _effects_chart(self, effects: pd.DataFrame):
        import matplotlib.pyplot as plt

        codes = sorted(effects.index, key=_code_order)
        part = effects.reindex(codes)
        figure, axis = plt.subplots(figsize=(7, 0.4 * len(codes) + 1.2))
        y = np.arange(len(codes))
        axis.errorbar(
            100 * part.estimate,
            y,
            xerr=[100 * (part.estimate - part.ci_low), 100 * (part.ci_high - part.estimate)],
            fmt="s",
            color=publish.PALETTE[2],
            capsize=3,
        )
        axis.axvline(0, color="#555555", linewidth=0.8)
        axis.set_yticks(y, codes)
        axis.invert_yaxis()
        axis.set_xlabel(self._l("charts.points"))
        axis.spines[["top", "right"]].set_visible(False)
        return figure

    def _breakdown_chart(self, latest: pd.DataFrame):
        import matplotlib.pyplot as plt

        definitions = self.bundle.outcome_definitions
        codes = list(definitions.code[definitions.headline])
        data = latest[(latest.dimension == "ethnicity") & latest.indicator.isin(codes)].dropna(subset=["estimate"])
        groups = list(dict.fromkeys(data.group))
        figure, axis = plt.subplots(figsize=(8, 3.6))
        width = 0.8 / max(len(groups), 1)
        for k, g in enumerate(groups):
            part = data[data.group == g].set_index("indicator").reindex(codes)
            name = self._l(f"ethnicity.{g}") if publish.has_label(f"ethnicity.{g}") else g
            axis.bar(
                np.arange(len(codes)) + k * width,
                100 * part.estimate,
                width,
                label=name,
                color=publish.PALETTE[k % len(publish.PALETTE)],
            )
        axis.set_xticks(np.arange(len(codes)) + 0.4 - width / 2, codes)
        axis.set_ylabel(self._l("charts.percent"))
        axis.legend(frameon=False, fontsize=8, ncol=3)
        axis.spines[["top", "right"]].set_visible(False)
        return figure

    def quality(self) -> None:
        self.heading("sections.quality")
        b = self.bundle
        complete = b.completeness if self.is_province else b.completeness[b.completeness.district == self.unit]
        from d8lib.progress import completeness_summary

        summary = completeness_summary(complete)
        shown = pd.DataFrame(
            {
                self._l("columns.period"): summary.period,
                self._l("columns.expected_reports"): summary.expected,
                self._l("columns.received"): summary.received,
                self._l("columns.on_time"): summary.on_time,
                self._l("columns.late"): summary.late,
                self._l("columns.missing"): summary.missing,
                self._l("columns.resubmitted"): summary.resubmitted,
                self._l("columns.mean_days_late"): summary.mean_days_late,
            }
        )
        self.show("bao-cao", shown, {c: 0 for c in shown.columns[1:7]} | {self._l("columns.mean_days_late"): 1})
        self.figure(self._completeness_chart(summary), "charts.completeness_alt")
        problems = b.problems if self.is_province else b.problems[b.problems.district.isin([self.unit, ""])]
        if problems.empty:
            self.note(self._l("notes.no_problems"))
            return
        names = b.units.set_index("unit").name.map(lambda n: publish.unit_name(n, self.lang))
        shown = pd.DataFrame(
            {
                self._l("columns.kind"): problems.kind.map(lambda k: self._l(f"problem_kind.{k}")),
                self._l("columns.district"): problems.district.map(lambda d: names.get(d, "")),
                self._l("columns.period"): problems.period,
                self._l("columns.indicator"): problems.indicator,
                self._l("columns.detail"): [self._problem_detail(p) for p in problems.itertuples()],
            }
        )
        self.show("van-de", shown)

    def _problem_detail(self, problem) -> str:
        """What a reader is told of one open problem, in the report's language."""
        if problem.kind == "warning":
            return f"{problem.file}: {problem.message_vi if self.lang == 'vi' else problem.message_en}"
        if problem.kind == "outlier":
            return self._l("problem_detail.outlier").format(value=f"{problem.value:g}", z=f"{problem.z:.1f}")
        return self._l(f"problem_detail.{problem.kind}")

    def _completeness_chart(self, summary: pd.DataFrame):
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(8, 3))
        x = np.arange(len(summary))
        bottom = np.zeros(len(summary))
        for k, (column, key) in enumerate(
            [("on_time", "columns.on_time"), ("late", "columns.late"), ("missing", "columns.missing")]
        ):
            values = summary[column].to_numpy(dtype=float)
            axis.bar(x, values, bottom=bottom, color=publish.PALETTE[[2, 1, 3][k]], label=self._l(key))
            bottom += values
        axis.set_xticks(x, summary.period)
        axis.legend(frameon=False, ncol=3, fontsize=8)
        axis.spines[["top", "right"]].set_visible(False)
        return figure

    def plan_findings(self) -> None:
        self.heading("sections.plan")
        findings = self.bundle.findings
        if not findings:
            self.note(self._l("notes.no_contradictions"))
            return
        vi = self.lang == "vi"
        shown = pd.DataFrame(
            {
                self._l("columns.message"): [
                    f.message if vi else publish.plan_reference(f.message_en, "en") for f in findings
                ],
                self._l("columns.source"): [publish.plan_reference(f.source, self.lang) for f in findings],
            }
        )
        self.show("ke-hoach", shown)

    def methods(self) -> None:
        self.heading("sections.methods")
        b = self.bundle
        _display(f"<p>{html.escape(self._l('methods.design_text'))}</p>")
        keys = ("strata", "psus", "df", "respondents")
        design = pd.DataFrame(
            {
                self._l("columns.item"): [self._l(f"methods.{k}") for k in keys],
                self._l("columns.value"): [b.design[k] for k in keys],
            }
        )
        self.show("thiet-ke", design, {self._l("columns.value"): 0})
        if b.design.get("not_read"):
            self.note(self._l("methods.not_read").format(columns=", ".join(b.design["not_read"])))
        grouped = {k: v for k, v in b.design.get("grouped_as_other", {}).items() if v}
        if grouped:
            counts = ", ".join(
                f"{self._l('dimension.' + k) if publish.has_label('dimension.' + k) else k}: {v}"
                for k, v in grouped.items()
            )
            self.note(self._l("methods.grouped_as_other").format(counts=counts))
        if b.design.get("calibration"):
            self.note(f"{self._l('methods.calibration')}: {self._l('calibration_method.' + b.design['calibration'])}")
        sample = self.tables["sample"]
        shown = pd.DataFrame(
            {
                self._l("columns.round"): sample["round"].map(lambda r: self._l(f"round.{r}")),
                self._l("columns.n"): sample.respondents,
                self._l("methods.psus"): sample.villages,
            }
        )
        self.show("co-mau", shown, {self._l("columns.n"): 0, self._l("methods.psus"): 0})
        for key in ("methods.reliability_text", "methods.status_text", "notes.suppression"):
            self.note(self._l(key))
        self._standard_note()
        definitions = b.outcome_definitions
        vi = self.lang == "vi"
        shown = pd.DataFrame(
            {
                self._l("columns.indicator"): definitions.code,
                self._l("columns.name"): definitions["name_vi" if vi else "name_en"],
                self._l("columns.universe"): definitions["universe_vi" if vi else "universe_en"],
                self._l("columns.higher_is_better"): definitions.higher_is_better.map(
                    lambda h: self._l("better.higher" if h else "better.lower")
                ),
            }
        )
        self.heading("methods.definitions", 3)
        self.show("dinh-nghia", shown)

    def save_excel(self, path: str) -> None:
        """Write the Excel twin of the report (nothing when ``path`` is empty)."""
        if path:
            publish.write_excel(self.excel, path, note=self._l("notes.suppression"))


def _store(plan, store_dir: str, data_dir: str):
    """The analyst's store, or one taken in from the data folder's inbox (cached)."""
    import tempfile

    from d8lib.runner import prepare_store
    from d8lib.store import Store

    if store_dir:
        return Store(store_dir)
    return Store(prepare_store(plan, Path(data_dir), Path(tempfile.gettempdir()) / "d8-cache"))


def _code_order(code: str) -> tuple:
    head, _, tail = code[1:].partition(".")
    return (code[0], int(head), int(tail or 0))

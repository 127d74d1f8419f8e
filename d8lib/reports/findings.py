"""The key findings a report opens with: sentences written from the unit's tables, in
the reader's language (their wording is in ``data/labels.yaml``, ``findings``). Survey
figures appear only where the presentation standard shows them, with its flag.
"""

from __future__ import annotations

import pandas as pd

from d8lib.core.labels import label
from d8lib.reports.bundle import Bundle
from d8lib.reports.formats import fmt
from d8lib.survey import standards


def number(value: float, digits: int = 1, lang: str = "vi") -> str:
    """A number as readers of the language write it: 1.234,5 in Vietnamese, 1,234.5 in English."""
    return fmt(value, digits, lang)


def key_findings(bundle: Bundle, unit: str, lang: str = "vi") -> list[str]:
    """The sentences a report opens with, each from the unit's tables."""

    def say(key: str, **values) -> str:
        return label(f"findings.{key}", lang).format(**values)

    tables = {name: bundle.unit_table(name, unit) for name in ("progress", "outcomes", "changes", "effects")}
    targets = tables["progress"][tables["progress"].status != "no_target"]
    counts = targets.status.value_counts()
    statuses = ("completed", "on_track", "behind", "at_risk", "no_data")
    date = bundle.as_of.strftime("%d/%m/%Y")
    if len(targets):
        sentences = [say("progress", date=date, total=len(targets), **{s: counts.get(s, 0) for s in statuses})]
    else:  # a unit the plan sets no target (a new commune whose targets are its district's)
        sentences = [say("no_targets", date=date)]
    past = {s: counts.get(s, 0) for s in ("met", "met_late", "not_met")}
    if sum(past.values()):
        sentences.append(say("deadlines", **past))
    names = bundle.indicators.set_index("code")["name_vi" if lang == "vi" else "name_en"]
    measures = bundle.indicators.set_index("code").measure
    lagging = targets[targets.expected > 0].assign(ratio=lambda t: t.achieved / t.expected).dropna(subset=["ratio"])
    for t in lagging[lagging.status.isin(["behind", "at_risk"])].sort_values("ratio").head(1).itertuples():
        sign = "%" if measures[t.indicator] == "percent" else ""
        achieved, target, expected = (number(v, 0, lang) + sign for v in (t.achieved, t.target, t.expected))
        share = number(100 * t.achieved / t.target, 0, lang)
        sentences.append(
            say("lagging", name=names[t.indicator], achieved=achieved, target=target, share=share, expected=expected)
        )
    sentences += _survey_sentences(bundle, tables, lang, say)
    complete = bundle.completeness
    complete = complete if unit == bundle.province else complete[complete.district == unit]
    if len(complete):
        sentences.append(
            say(
                "reports",
                received=int(complete.received.sum()),
                due=len(complete),
                late=int((complete.days_late > 0).sum()),
            )
        )
    return sentences


def _survey_sentences(bundle: Bundle, tables: dict, lang: str, say) -> list[str]:
    """One sentence per headline outcome shown: its level in the latest round, its
    change since baseline and its difference from comparison villages."""
    definitions = bundle.outcome_definitions
    names = definitions["name_vi" if lang == "vi" else "name_en"]
    latest = bundle.rounds[-1]
    estimates = tables["outcomes"]
    year = bundle.design.get("round_years", {}).get(latest, "")

    def shown(table: pd.DataFrame, code: str):
        rows = table[table.indicator == code] if len(table) else table
        if "comparison" in rows:
            rows = rows[rows.comparison == "pooled"]
        return rows.iloc[0] if len(rows) and rows.flag.iloc[0] in standards.SHOWN else None

    def points(row) -> dict:
        values = {k: number(100 * getattr(row, k), 1, lang) for k in ("estimate", "ci_low", "ci_high")}
        return values | {"caution": "" if row.flag == "ok" else say("caution")}

    sentences = []
    for code in definitions.code[definitions.headline] if len(estimates) else ():
        level = shown(estimates[estimates["round"] == latest], code)
        if level is None:
            continue
        text = say("level", name=names[code], year=year, **points(level))
        change = shown(tables["changes"], code)
        if change is not None:
            text += say("change", **points(change))
        effect = shown(tables["effects"], code)
        if effect is not None:
            text += say("effect", **points(effect))
        sentences.append(text + ".")
    return sentences

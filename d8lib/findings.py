"""The key findings a report opens with: sentences written from the unit's tables, in
the reader's language. Survey figures appear only where the presentation standard
shows them, with its flag.
"""

from __future__ import annotations

import pandas as pd

from d8lib import standards
from d8lib.bundle import Bundle


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

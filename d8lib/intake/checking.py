"""Checking a submission that was read: unit and indicator names resolved against the
plan, milestone answers and dates read, rounds that an old district and its new
communes would both report refused, and the validation rules applied. Problems
accumulate on the submission; a file with an error is rejected whole.
"""

from __future__ import annotations

import difflib
from functools import cache, partial

import pandas as pd

from d8lib.core.text import ascii_key, nfc
from d8lib.intake import forms
from d8lib.intake.reading import Submission, blank, read_date
from d8lib.intake.validation import Formula, validate
from d8lib.plan.model import Plan
from d8lib.units import reform
from d8lib.units.registry import UnitError, Units


def _period(value) -> str | None:
    if blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = ascii_key(str(value)).replace(" ", "-").replace("_", "-")
    return text


def _reporting_unit(units: Units, name: str, levels: tuple[str, ...]) -> str:
    """The unit a name means: a district, the province (whose own form names it) or a unit
    of the other reporting levels (the new communes after the reform); where a name fits
    several (a commune named as its district, "Xã X" and district X), the one of the kind its prefix says."""
    found, error = [], None
    for level in ("district", *levels):
        try:
            found.append((units.resolve(name, level=level), level))
        except UnitError as exc:
            error = error or exc
    if not found:
        raise error
    kind = units.prefix_kind(name)
    named = [code for code, level in found if units.kind_of(code, level) == kind]
    return (named or [code for code, _ in found])[0]


def codes(plan: Plan) -> pd.Series:
    """What a unit may report, by code: ``indicator``, ``priority`` (persons reached from a
    priority group) or ``milestone`` (an occurrence, ``M6-2023``)."""
    return pd.concat(
        [
            pd.Series("indicator", index=plan.indicators.code),
            pd.Series("priority", index=plan.priority_groups.code),
            pd.Series("milestone", index=plan.occurrences.key),
        ]
    )


def resolve(submission: Submission, plan: Plan, units: Units) -> None:
    """Turn names into codes (district, commune, indicator, period) and join the plan."""
    rows = submission.rows
    if rows.empty:
        return
    if "sheet" not in rows:
        rows = rows.assign(sheet=submission.sheet)
    labels = submission.labels
    reporters = plan.reporting_units()  # the province reports what it does itself
    districts = set(reporters.unit)
    new_units = set(reporters.unit[~reporters.level.isin(["province", plan.unit_level])])
    levels = ("province", *reporters.level[reporters.unit.isin(new_units)].unique())
    before_reform = set(plan.rounds.period[plan.rounds.deadline < plan.reform_date]) if new_units else set()
    periods = list(plan.rounds.period)
    indicators = plan.indicators.set_index("code")
    kinds = codes(plan)
    resolved = {"district": [], "commune": [], "indicator": [], "period": []}

    @cache
    def unit_of(text: str) -> str | UnitError:  # a name is resolved once, however many rows repeat it
        try:
            return text if text in districts else _reporting_unit(units, text, levels)
        except UnitError as exc:
            return exc

    @cache
    def commune_of(name: str, district: str) -> str | UnitError:
        try:
            return units.resolve(name, level="commune", within=district)
        except UnitError as exc:
            return exc

    @cache
    def close_to(code: str) -> list[str]:
        return difflib.get_close_matches(code, list(kinds.index), n=3)

    @cache
    def milestones_of(unit: str) -> frozenset[str]:  # the milestones a unit reports, joined once per unit
        return frozenset(plan.milestones_of(unit).key)

    for r in rows.itertuples():
        problem = partial(submission.problem, sheet=r.sheet)
        district = None
        if not blank(r.district):
            text = nfc(str(r.district))
            district = unit_of(text)
            if isinstance(district, UnitError):
                problem(
                    "unknown_district",
                    district.message_vi,
                    district.message_en,
                    row=r.row,
                    column=labels.get("district", ""),
                    value=text,
                )
                district = None
            if district is not None and district not in districts:
                problem(
                    "district_outside_plan",
                    f"Huyện {district} không có trong kế hoạch",
                    f"District {district} is not in the plan",
                    r.row,
                    labels.get("district", ""),
                    text,
                )
        else:
            problem("district_missing", "Thiếu tên huyện", "The district is missing", r.row, labels.get("district", ""))
        commune = None
        if not blank(r.commune) and district:
            commune = commune_of(str(r.commune), district)
            if isinstance(commune, UnitError):
                message_vi, message_en, commune = commune.message_vi, commune.message_en, None
                problem("unknown_commune", message_vi, message_en, r.row, labels.get("commune", ""), r.commune)
        code = str(r.indicator).strip().upper() if not blank(r.indicator) else None
        if code not in kinds.index:
            close = close_to(code or "")
            hint_vi, hint_en = (
                (f" Có phải: {', '.join(close)}?", f" Did you mean: {', '.join(close)}?") if close else ("", "")
            )
            problem(
                "unknown_indicator",
                f"Mã chỉ số không có trong kế hoạch.{hint_vi}",
                f"Unknown indicator code.{hint_en}",
                r.row,
                labels.get("indicator", ""),
                r.indicator,
            )
            code = None
        elif kinds[code] == "milestone" and district and code not in milestones_of(district):
            problem(
                "milestone_not_reported_here",
                "Mốc này không do đơn vị này báo cáo (xem cột «người báo cáo» của kế hoạch)",
                "This milestone is not reported by this unit (see reported_by in the plan)",
                r.row,
                labels.get("indicator", ""),
                r.indicator,
            )
        period = _period(r.period)
        if period not in periods:
            problem(
                "period_outside_plan",
                f"Kỳ báo cáo không có trong kế hoạch ({', '.join(periods)})",
                f"Period not in the plan ({', '.join(periods)})",
                r.row,
                labels.get("period", ""),
                r.period,
            )
            period = None
        elif period in before_reform and district in new_units:
            problem(
                "before_reform",
                f"Xã mới chỉ báo cáo các kỳ sau ngày {plan.reform_date:%d/%m/%Y}; kỳ này do huyện cũ báo cáo",
                f"A new commune reports the rounds after {plan.reform_date:%d/%m/%Y} only; "
                "this round is the old district's",
                r.row,
                labels.get("period", ""),
                r.period,
            )
        for key, value in (("district", district), ("commune", commune), ("indicator", code), ("period", period)):
            resolved[key].append(value)
    rows = rows.assign(**resolved)
    targets = plan.targets.set_index(["indicator", "unit"]).target
    rows["target"] = [targets.get((i, d)) for i, d in zip(rows.indicator, rows.district)]
    rows["kind"] = rows.indicator.map(kinds)
    rows["measure"] = rows.indicator.map(indicators.measure).where(rows.kind != "priority", "count")
    rows["aggregation"] = rows.indicator.map(indicators.aggregation).where(rows.kind != "priority", "additive")
    rows["file"] = submission.path.name
    submission.rows = rows


def _note(value) -> str | None:
    """A note as text, whatever the cell held (a formula, a date, a time)."""
    if blank(value):
        return None
    return value.text if isinstance(value, Formula) else nfc(str(value))


# How people write "done" and "not done" (compared without case or diacritics).
DONE_WORDS = {"co", "yes", "y", "x", "1", "da", "da thuc hien", "roi"}
NOT_DONE_WORDS = {"khong", "no", "n", "0", "chua", "chua thuc hien"}


def _read_milestones(submission: Submission) -> None:
    """A milestone row's answer as 1 (done) or 0 (not done) and its date as a date; what
    cannot be read so is an error naming the cell."""
    rows, labels = submission.rows, submission.labels
    answers, dates = rows.value.astype(object).tolist(), rows.done_on.astype(object).tolist()
    for k, r in enumerate(rows.itertuples()):
        if r.kind != "milestone":
            continue
        if not blank(r.value):
            word = ascii_key(str(int(r.value) if isinstance(r.value, float) and r.value.is_integer() else r.value))
            answers[k] = 1 if word in DONE_WORDS else 0 if word in NOT_DONE_WORDS else None
            if answers[k] is None:
                submission.problem(
                    "bad_done",
                    "Ghi «Có» (đã thực hiện) hoặc «Không» (chưa thực hiện)",
                    "Write 'Có' (done) or 'Không' (not done)",
                    int(r.row),
                    labels.get("value", ""),
                    r.value,
                    sheet=r.sheet,
                )
        if not blank(r.done_on):
            dates[k] = read_date(r.done_on) or r.done_on
            if dates[k] is r.done_on:
                submission.problem(
                    "bad_date",
                    "Ngày thực hiện không đúng dạng dd/mm/yyyy",
                    "The date done is not dd/mm/yyyy",
                    int(r.row),
                    labels.get("done_on", ""),
                    r.done_on,
                    sheet=r.sheet,
                )
    submission.rows = rows.assign(
        value=pd.Series(answers, index=rows.index, dtype=object),
        done_on=pd.Series(dates, index=rows.index, dtype=object),
    )


def _check_overlap(submission: Submission, units: Units, previous: pd.DataFrame) -> None:
    """An old district and the new communes formed from it never both report a round:
    their figures would count twice."""
    rows = submission.rows.dropna(subset=["district", "period"])
    for (unit, period), group in rows.groupby(["district", "period"]):
        others = reform.overlapping(units, unit)
        earlier = previous[previous.district.isin(others) & previous.period.eq(period)]
        if len(earlier):
            names = ", ".join(sorted(earlier.district.unique()))
            submission.problem(
                "reported_twice",
                f"Kỳ {period} đã được báo cáo bởi {names} (huyện cũ và xã mới hình thành từ huyện đó không "
                "cùng báo cáo một kỳ, để số liệu không bị tính hai lần)",
                f"Round {period} was already reported by {names} (an old district and the new communes formed "
                "from it never both report a round: the figures would count twice)",
                int(group.row.iloc[0]),
                submission.labels.get("district", ""),
                unit,
                sheet=group.sheet.iloc[0],
            )


def check(submission: Submission, plan: Plan, units: Units, previous: pd.DataFrame) -> Submission:
    """Resolve names and apply the validation rules; problems accumulate on the submission."""
    if submission.errors or submission.rows.empty:
        return submission
    if submission.plan and submission.plan != plan.meta["number"]:
        submission.problem(
            "another_plan",
            f"Biểu mẫu được tạo cho kế hoạch {submission.plan}, không phải {plan.meta['number']}: "
            "nhận với --plan <tệp kế hoạch của nó>",
            f"The form was made for plan {submission.plan}, not {plan.meta['number']}: "
            "take it in with --plan <its plan file>",
            row=2,
            column="A",
            value=submission.plan,
        )
        return submission
    submission.rows["note"] = submission.rows["note"].map(_note)
    resolve(submission, plan, units)
    _read_milestones(submission)
    _check_overlap(submission, units, previous)
    context = {
        "periods": list(plan.rounds.period),
        "previous": previous[["district", "commune", "period", "indicator", "value"]],
    }
    submission.problems += validate(submission.rows, submission.labels, context)
    blank = submission.rows.index.difference(submission.reported_rows.index)
    if len(blank) == len(submission.rows):
        submission.problem("no_values", "Tệp không có số liệu nào", "The file reports no figure at all")
    elif not submission.sheet or submission.sheet != forms.REPORT_SHEET:
        for row in submission.rows.loc[blank, "row"]:
            submission.problem(
                "empty_row",
                "Dòng không có số liệu, không được lưu",
                "Row without any figure; nothing stored",
                int(row),
                submission.labels.get("value", ""),
                severity="warning",
            )
    return submission

"""The Excel report form a district fills in (and the province, for what it does itself), and its layout.

One sheet ``Báo cáo`` holds the district, the period, one row per indicator the
district reports and one per priority group (persons reached in the year); a sheet
``Mốc hoạt động`` one row per milestone due by the end of the period's year (done or
not, the date, persons where the milestone counts them, a note); a sheet
``Hướng dẫn`` explains how to fill it in. Stocks (cumulative indicators) are reported
as the value to date, flows (additive indicators) as the value of the reporting year;
percent indicators as their numerator and denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from d8lib.core.labels import has_label, label
from d8lib.plan.model import PEOPLE, Plan

REPORT_SHEET = "Báo cáo"
MILESTONE_SHEET = "Mốc hoạt động"
INSTRUCTIONS_SHEET = "Hướng dẫn"
PLAN_CELL, DISTRICT_CELL, CODE_CELL, PERIOD_CELL, SENT_CELL = "A2", "B3", "D3", "B4", "B5"
HEADER_ROW = 7


@dataclass(frozen=True)
class FormColumn:
    key: str
    letter: str
    filled_by_district: bool = False


COLUMNS = [
    FormColumn("indicator", "A"),
    FormColumn("name", "B"),
    FormColumn("unit", "C"),
    FormColumn("how", "D"),
    FormColumn("target", "E"),
    FormColumn("value", "F", True),
    FormColumn("numerator", "G", True),
    FormColumn("denominator", "H", True),
    FormColumn("people", "I", True),
    FormColumn("female", "J", True),
    FormColumn("male", "K", True),
    FormColumn("ethnic_minority", "L", True),
    FormColumn("note", "M", True),
]
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
# The milestone sheet keeps the letters of the report sheet where a column means the
# same (F: done, in the value column; I-L: persons; M: note).
MILESTONE_COLUMNS = [
    FormColumn("indicator", "A"),
    FormColumn("name", "B"),
    FormColumn("agency", "C"),
    FormColumn("due", "D"),
    FormColumn("source", "E"),
    FormColumn("value", "F", True),
    FormColumn("done_on", "G", True),
    FormColumn("people", "I", True),
    FormColumn("female", "J", True),
    FormColumn("male", "K", True),
    FormColumn("ethnic_minority", "L", True),
    FormColumn("note", "M", True),
]
MILESTONE_COLUMN_BY_KEY = {c.key: c for c in MILESTONE_COLUMNS}
DONE, NOT_DONE = "Có", "Không"


INSTRUCTION_KEYS = (
    "heading",
    "fill_in",
    "cumulative",
    "yearly",
    "percent",
    "persons",
    "priority",
    "milestones",
    "whole_numbers",
)


def _both(key: str, between: str = " / ") -> str:
    """A text of the form in Vietnamese then English (``data/labels.yaml``, ``form``)."""
    return label(f"form.{key}", "vi") + between + label(f"form.{key}", "en")


def _persons(kind: str) -> str:
    return f"{label('form.persons', 'vi')}: {label(f'form.people.{kind}', 'vi')} / " + (
        f"{label('form.persons', 'en')}: {label(f'form.people.{kind}', 'en')}"
    )


def period_instructions(plan: Plan) -> list[tuple[str, str]]:
    """One line per kind of reporting round of the plan: how its period is written
    and when it is due, in the plan's own words."""
    rounds = plan.rounds.drop_duplicates("round")
    lines = []
    for r in rounds.itertuples():
        period = r.period.replace(str(r.year), "YYYY")
        lines.append((f"Kỳ «{period}»: {r.label_vi}", f"Period '{period}': {r.label_en}"))
    return lines


def plan_number(cell) -> str:
    """The plan number a form's plan cell names ("Kế hoạch / Plan 355/KH-UBND"), or ""."""
    text, prefix = str(cell or "").strip(), _both("plan")
    return text[len(prefix) :].strip() if text.startswith(prefix) else ""


def unit_rows(plan: Plan, unit: str) -> pd.DataFrame:
    """The indicators a unit reports (a district its own; the province what it does
    itself), with its target where the plan sets one."""
    reporter = "province" if unit == plan.province else "district"  # "district": a unit below the province
    indicators = plan.indicators[plan.indicators.reported_by == reporter]
    targets = plan.targets[plan.targets.unit == unit].set_index("indicator").target
    rows = indicators.assign(target=indicators.code.map(targets))
    return rows.reset_index(drop=True)


def unit_milestones(plan: Plan, unit: str, period: str) -> pd.DataFrame:
    """The milestone occurrences on a unit's form for a period: those of the milestones it
    reports that fall due by the end of the period's year (earlier ones stay, so that a
    late one can still be reported done)."""
    year = int(plan.rounds.set_index("period").year[period])
    rows = plan.milestones_of(unit)
    order = {code: k for k, code in enumerate(plan.milestones.code)}
    rows = rows.loc[rows.due.map(lambda d: d.year <= year).astype(bool)].assign(order=rows.milestone.map(order))
    return rows.sort_values(["due", "order"]).drop(columns="order").reset_index(drop=True)


def _not_a_reporter(plan: Plan, unit: str) -> str:
    """Why a unit has no form under a plan, in both languages."""
    number = plan.meta["number"]
    if plan.allocation.empty:
        return (
            f"Đơn vị {unit} không báo cáo theo kế hoạch {number}: không phải tỉnh, huyện trong bảng đơn vị "
            f"hay xã mới sau sắp xếp (reporting.reform) / Unit {unit} does not report under plan {number}: "
            "neither the province, a district of its unit tables nor a new commune after the reform (reporting.reform)"
        )
    if plan.unit_level != "district":
        return (
            f"Đơn vị {unit} không báo cáo theo kế hoạch {number}: các xã mới báo cáo (reporting.level: "
            f"{plan.unit_level}), dùng --commune-2025 / Unit {unit} does not report under plan {number}: the new "
            f"communes report (reporting.level: {plan.unit_level}); use --commune-2025"
        )
    units = list(plan.districts.unit)
    listed = ", ".join(units[:12]) + (f", … ({len(units)})" if len(units) > 12 else "")
    return (
        f"Đơn vị {unit} không báo cáo theo kế hoạch {number}: kế hoạch chỉ phân bổ chỉ tiêu cho "
        f"{listed} (mục allocation) / Unit {unit} does not report under plan {number}: "
        f"the plan allocates targets to {listed} only (section allocation)"
    )


def _validation(message: str, **rule) -> DataValidation:
    """A rule Excel checks as the cell is typed in, blank allowed, with the form's message."""
    return DataValidation(**rule, allow_blank=True, errorTitle=_both(f"{message}_title"), error=_both(message))


def _fill(sheet, letter: str, row: int, value, wrap: bool = True) -> None:
    cell = sheet[f"{letter}{row}"]
    cell.value = value
    cell.alignment = Alignment(wrap_text=wrap, vertical="top")


def _milestone_sheet(workbook, plan: Plan, unit: str, period: str, counts, fill) -> None:
    sheet = workbook.create_sheet(MILESTONE_SHEET, 1)
    sheet["A1"] = _both("milestone_title")
    sheet["A1"].font = Font(bold=True, size=13)
    due = unit_milestones(plan, unit, period)
    if due.empty:
        sheet["A2"] = _both("no_milestones")
        return
    sheet["A2"] = _both("milestone_intro")
    for column in MILESTONE_COLUMNS:
        _fill(sheet, column.letter, HEADER_ROW, _both(f"milestone_columns.{column.key}", "\n"))
        sheet[f"{column.letter}{HEADER_ROW}"].font = Font(bold=True)
    done = _validation("invalid_done", type="list", formula1=f'"{DONE},{NOT_DONE}"')
    dates = _validation("invalid_date", type="date", operator="greaterThan", formula1="DATE(2000,1,1)")
    sheet.add_data_validation(done)
    sheet.add_data_validation(dates)
    agencies = plan.agencies.set_index("code").name_vi
    for offset, m in enumerate(due.itertuples()):
        r = HEADER_ROW + 1 + offset
        values = dict(
            indicator=m.key,
            name=f"{m.name_vi}\n{m.name_en}",
            agency=agencies.get(m.agency, m.agency),
            due=m.due.strftime("%d/%m/%Y") + ("" if m.dated else " *"),
            source=m.source,
        )
        for key, value in values.items():
            _fill(sheet, MILESTONE_COLUMN_BY_KEY[key].letter, r, value)
        open_keys = ["value", "done_on", "note"] + (PEOPLE if isinstance(m.counts, str) else [])
        for key in open_keys:
            cell = sheet[f"{MILESTONE_COLUMN_BY_KEY[key].letter}{r}"]
            cell.fill = fill
            if key != "note":
                {"value": done, "done_on": dates}.get(key, counts).add(cell.coordinate)
            if key == "done_on":
                cell.number_format = "DD/MM/YYYY"
    sheet["A4"] = _both("undated")
    for letter, width in dict(A=10, B=52, C=22, D=13, E=26, F=12, G=13, I=11, J=11, K=11, L=11, M=30).items():
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = f"F{HEADER_ROW + 1}"


def write_template(plan: Plan, unit: str, period: str, path: str | Path) -> Path:
    """Write the report form of ``unit`` (a district's GSO code, or the province's for
    what the province does itself) for ``period`` to ``path``."""
    reporters = plan.reporting_units().set_index("unit")
    if unit not in reporters.index:
        raise ValueError(_not_a_reporter(plan, unit))
    new_unit = reporters.level[unit] not in ("province", plan.unit_level)
    if new_unit and plan.rounds.set_index("period").deadline.get(period, plan.reform_date) < plan.reform_date:
        raise ValueError(
            f"Xã mới chỉ báo cáo các kỳ sau ngày {plan.reform_date:%d/%m/%Y} / "
            f"A new commune reports the rounds after {plan.reform_date:%d/%m/%Y} only"
        )
    names = reporters.name
    if period not in set(plan.rounds.period):
        raise ValueError(
            f"Kỳ báo cáo {period} không có trong kế hoạch / Period {period} is not in the plan "
            f"({', '.join(plan.rounds.period)})"
        )
    if unit_rows(plan, unit).empty and plan.priority_groups.empty and unit_milestones(plan, unit, period).empty:
        raise ValueError(
            f"Theo kế hoạch {plan.meta['number']}, {names[unit]} không tự báo cáo chỉ số hay mốc nào đến kỳ {period} "
            "(chỉ số, mốc có reported_by: province là của tỉnh) / "
            f"Under plan {plan.meta['number']}, {names[unit]} reports no indicator or milestone of its own "
            f"by {period} (those with reported_by: province are the province's)"
        )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = REPORT_SHEET
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    sheet["A1"] = _both("title")
    sheet["A1"].font = Font(bold=True, size=13)
    sheet[PLAN_CELL] = f"{_both('plan')} {plan.meta['number']}"
    sheet["A3"], sheet[DISTRICT_CELL] = _both("district"), names[unit]
    sheet["C3"], sheet[CODE_CELL] = _both("code"), unit
    sheet["A4"], sheet[PERIOD_CELL] = _both("period"), period
    sheet["A5"] = _both("sent")
    sheet[SENT_CELL].fill = fill
    sheet[SENT_CELL].number_format = "DD/MM/YYYY"
    for column in COLUMNS:
        cell = sheet[f"{column.letter}{HEADER_ROW}"]
        cell.value = _both(f"columns.{column.key}", "\n")
        cell.font, cell.alignment = bold, Alignment(wrap_text=True, vertical="top")
    counts = _validation("invalid_count", type="whole", operator="greaterThanOrEqual", formula1="0")
    percents = _validation("invalid_percent", type="decimal", operator="between", formula1="0", formula2="100")
    sheet.add_data_validation(counts)
    sheet.add_data_validation(percents)
    for offset, row in enumerate(unit_rows(plan, unit).itertuples()):
        r = HEADER_ROW + 1 + offset
        how = _both(f"how.{'percent' if row.measure == 'percent' else row.aggregation}")
        people = isinstance(row.people, str) and has_label(f"form.people.{row.people}")
        values = dict(
            indicator=row.code,
            name=f"{row.name_vi}\n{row.name_en}",
            unit=f"{row.unit_vi} / {row.unit_en}",
            how=how + (f"\n{_persons(row.people)}" if people else ""),
            target=None if pd.isna(row.target) else row.target,
        )
        for key, value in values.items():
            sheet[f"{COLUMN_BY_KEY[key].letter}{r}"] = value
            sheet[f"{COLUMN_BY_KEY[key].letter}{r}"].alignment = Alignment(wrap_text=True, vertical="top")
        open_keys = ["value", "note"]
        if row.measure == "percent":
            open_keys += ["numerator", "denominator"]
        if people:
            open_keys += PEOPLE
        for key in open_keys:
            cell = sheet[f"{COLUMN_BY_KEY[key].letter}{r}"]
            cell.fill = fill
            if key == "note":
                continue
            (percents if key == "value" and row.measure == "percent" else counts).add(cell.coordinate)
    first = HEADER_ROW + 1 + len(unit_rows(plan, unit))
    for offset, g in enumerate(plan.priority_groups.itertuples()):
        r = first + offset
        values = dict(
            indicator=g.code,
            name=f"{label('form.priority', 'vi')}: {g.name_vi}\n{label('form.priority', 'en')}: {g.name_en}",
            unit=_both("persons"),
            how=_both("how.priority"),
        )
        for key, value in values.items():
            _fill(sheet, COLUMN_BY_KEY[key].letter, r, value)
        for key in ("value", "note"):
            sheet[f"{COLUMN_BY_KEY[key].letter}{r}"].fill = fill
        counts.add(f"{COLUMN_BY_KEY['value'].letter}{r}")
    for letter, width in dict(A=9, B=48, C=14, D=30, E=12, F=11, G=11, H=11, I=11, J=11, K=11, L=11, M=24).items():
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = f"F{HEADER_ROW + 1}"
    _milestone_sheet(workbook, plan, unit, period, counts, fill)
    guide = workbook.create_sheet(INSTRUCTIONS_SHEET)
    instructions = [
        (label(f"form.instructions.{k}", "vi"), label(f"form.instructions.{k}", "en")) for k in INSTRUCTION_KEYS
    ]
    for r, (vi, en) in enumerate(instructions + period_instructions(plan), start=1):
        guide[f"A{r}"], guide[f"B{r}"] = vi, en
    guide["A1"].font = guide["B1"].font = bold
    guide.column_dimensions["A"].width = guide.column_dimensions["B"].width = 90
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def fill(
    path: str | Path, values: dict[str, dict], sent: str | None = None, milestones: dict[str, dict] | None = None
) -> Path:
    """Fill in a written form as a district would: ``values`` maps an indicator or priority
    group code, ``milestones`` a milestone occurrence (``M6-2023``), to {column key:
    value}; ``sent`` (dd/mm/yyyy) goes in the date-sent cell."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    for name, given, letters in (
        (REPORT_SHEET, values, COLUMN_BY_KEY),
        (MILESTONE_SHEET, milestones or {}, MILESTONE_COLUMN_BY_KEY),
    ):
        sheet = workbook[name]
        row = HEADER_ROW + 1
        while sheet[f"A{row}"].value:
            for key, value in given.get(sheet[f"A{row}"].value, {}).items():
                sheet[f"{letters[key].letter}{row}"] = value
            row += 1
    sheet = workbook[REPORT_SHEET]
    if sent is not None:
        sheet[SENT_CELL] = sent
    workbook.save(path)
    return Path(path)

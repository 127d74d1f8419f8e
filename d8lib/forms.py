"""The Excel report form a district fills in (and the province, for what it does itself), and its layout.

One sheet ``Báo cáo`` holds the district, the period and one row per indicator the
district reports; a sheet ``Hướng dẫn`` explains how to fill it in. Stocks
(cumulative indicators) are reported as the value to date, flows (additive
indicators) as the value of the reporting year; percent indicators as their
numerator and denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from d8lib.plan import Plan
from d8lib.publish import has_label, label

REPORT_SHEET = "Báo cáo"
INSTRUCTIONS_SHEET = "Hướng dẫn"
DISTRICT_CELL, CODE_CELL, PERIOD_CELL, SENT_CELL = "B3", "D3", "B4", "B5"
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
COLUMN_BY_LETTER = {c.letter: c for c in COLUMNS}


INSTRUCTION_KEYS = ("heading", "fill_in", "cumulative", "yearly", "percent", "persons", "whole_numbers")


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


def unit_rows(plan: Plan, unit: str) -> pd.DataFrame:
    """The indicators a unit reports (a district its own; the province what it does
    itself), with its target where the plan sets one."""
    reporter = "province" if unit == plan.province else "district"
    indicators = plan.indicators[plan.indicators.reported_by == reporter]
    targets = plan.targets[plan.targets.unit == unit].set_index("indicator").target
    rows = indicators.assign(target=indicators.code.map(targets))
    return rows.reset_index(drop=True)


def write_template(plan: Plan, unit: str, period: str, path: str | Path) -> Path:
    """Write the report form of ``unit`` (a district's GSO code, or the province's for
    what the province does itself) for ``period`` to ``path``."""
    names = {plan.province: plan.meta["province"]["name"], **dict(zip(plan.districts.unit, plan.districts.name))}
    if unit not in names:
        raise ValueError(f"Đơn vị {unit} không có trong kế hoạch / Unit {unit} is not in the plan")
    if period not in set(plan.rounds.period):
        raise ValueError(
            f"Kỳ báo cáo {period} không có trong kế hoạch / Period {period} is not in the plan "
            f"({', '.join(plan.rounds.period)})"
        )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = REPORT_SHEET
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    sheet["A1"] = _both("title")
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = f"{_both('plan')} {plan.meta['number']}"
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
    counts = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        errorTitle=_both("invalid_count_title"),
        error=_both("invalid_count"),
    )
    percents = DataValidation(
        type="decimal",
        operator="between",
        formula1="0",
        formula2="100",
        allow_blank=True,
        errorTitle=_both("invalid_percent_title"),
        error=_both("invalid_percent"),
    )
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
            open_keys += ["people", "female", "male", "ethnic_minority"]
        for key in open_keys:
            cell = sheet[f"{COLUMN_BY_KEY[key].letter}{r}"]
            cell.fill = fill
            if key == "note":
                continue
            (percents if key == "value" and row.measure == "percent" else counts).add(cell.coordinate)
    for letter, width in dict(A=9, B=48, C=14, D=30, E=12, F=11, G=11, H=11, I=11, J=11, K=11, L=11, M=24).items():
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = f"F{HEADER_ROW + 1}"
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


def fill(path: str | Path, values: dict[str, dict], sent: str | None = None) -> Path:
    """Fill in a written form as a district would: ``values`` maps an indicator code to
    {column key: value}; ``sent`` (dd/mm/yyyy) goes in the date-sent cell."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook[REPORT_SHEET]
    row = HEADER_ROW + 1
    while sheet[f"A{row}"].value:
        for key, value in values.get(sheet[f"A{row}"].value, {}).items():
            sheet[f"{COLUMN_BY_KEY[key].letter}{row}"] = value
        row += 1
    if sent is not None:
        sheet[SENT_CELL] = sent
    workbook.save(path)
    return Path(path)

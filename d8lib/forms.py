"""The Excel report form a district fills in, and its layout.

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

REPORT_SHEET = "Báo cáo"
INSTRUCTIONS_SHEET = "Hướng dẫn"
DISTRICT_CELL, CODE_CELL, PERIOD_CELL, SENT_CELL = "B3", "D3", "B4", "B5"
HEADER_ROW = 7


@dataclass(frozen=True)
class FormColumn:
    key: str
    letter: str
    header_vi: str
    header_en: str
    filled_by_district: bool = False


COLUMNS = [
    FormColumn("indicator", "A", "Mã chỉ số", "Code"),
    FormColumn("name", "B", "Chỉ số", "Indicator"),
    FormColumn("unit", "C", "Đơn vị tính", "Unit"),
    FormColumn("how", "D", "Cách báo cáo", "How to report"),
    FormColumn("target", "E", "Chỉ tiêu giai đoạn của huyện", "District target for the phase"),
    FormColumn("value", "F", "Kết quả", "Value", True),
    FormColumn("numerator", "G", "Tử số", "Numerator", True),
    FormColumn("denominator", "H", "Mẫu số", "Denominator", True),
    FormColumn("people", "I", "Tổng số người", "Persons (total)", True),
    FormColumn("female", "J", "Nữ (trẻ em gái)", "Female (girls)", True),
    FormColumn("male", "K", "Nam (trẻ em trai)", "Male (boys)", True),
    FormColumn("ethnic_minority", "L", "Người DTTS", "Ethnic minority", True),
    FormColumn("note", "M", "Ghi chú", "Note", True),
]
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
COLUMN_BY_LETTER = {c.letter: c for c in COLUMNS}

HOW = {
    "cumulative": ("Lũy kế đến thời điểm báo cáo", "Cumulative to date"),
    "additive": ("Số thực hiện trong năm báo cáo", "Done in the reporting year"),
    "percent": (
        "Ghi tử số và mẫu số; kết quả (%) có thể để trống",
        "Give numerator and denominator; the % may stay empty",
    ),
}
PEOPLE = {
    "members": ("thành viên", "members"),
    "participants": ("người tham gia", "participants"),
    "girls_boys": ("thành viên: Nữ = trẻ em gái, Nam = trẻ em trai", "members: female = girls, male = boys"),
}

INSTRUCTIONS = [
    ("HƯỚNG DẪN ĐIỀN BIỂU MẪU BÁO CÁO DỰ ÁN 8", "HOW TO FILL IN THE PROJECT 8 REPORT FORM"),
    (
        "Điền vào các ô màu vàng của trang «Báo cáo»; không sửa mã chỉ số, tên huyện và kỳ báo cáo.",
        "Fill in the yellow cells of the 'Báo cáo' sheet; do not change indicator codes, the district or the period.",
    ),
    (
        "Chỉ số lũy kế: ghi tổng số đến thời điểm báo cáo (ví dụ số tổ đang hoạt động).",
        "Cumulative indicators: the total to date (for example the number of teams now active).",
    ),
    (
        "Chỉ số trong năm: ghi số thực hiện trong năm báo cáo (ví dụ số lớp tập huấn đã tổ chức trong năm).",
        "Yearly indicators: what was done in the reporting year (for example the classes held this year).",
    ),
    (
        "Chỉ số tỷ lệ (%): ghi tử số và mẫu số (ví dụ số thành viên được kết nối tài chính và tổng số thành viên).",
        "Percent indicators: the numerator and the denominator (for example members linked to finance and all members).",
    ),
    (
        "Số người: tổng số, nữ, nam và người DTTS; nữ + nam phải bằng tổng số.",
        "Persons: total, female, male and ethnic minority; female + male must equal the total.",
    ),
    (
        "Chỉ ghi số nguyên không âm; không ghi họ tên, số điện thoại của người được hỗ trợ.",
        "Whole numbers of zero or more only; never write the name or phone number of a person supported.",
    ),
]


def period_instructions(plan: Plan) -> list[tuple[str, str]]:
    """One line per kind of reporting round of the plan: how its period is written
    and when it is due, in the plan's own words."""
    rounds = plan.rounds.drop_duplicates("round")
    lines = []
    for r in rounds.itertuples():
        period = r.period.replace(str(r.year), "YYYY")
        lines.append((f"Kỳ «{period}»: {r.label_vi}", f"Period '{period}': {r.label_en}"))
    return lines


def district_rows(plan: Plan, district: str) -> pd.DataFrame:
    """The indicators a district reports, with its target where the plan allocates one."""
    indicators = plan.indicators[plan.indicators.reported_by == "district"]
    targets = plan.targets[plan.targets.unit == district].set_index("indicator").target
    rows = indicators.assign(target=indicators.code.map(targets))
    return rows.reset_index(drop=True)


def write_template(plan: Plan, district: str, period: str, path: str | Path) -> Path:
    """Write the report form of ``district`` (a GSO code) for ``period`` to ``path``."""
    districts = dict(zip(plan.districts.unit, plan.districts.name))
    if district not in districts:
        raise ValueError(f"Huyện {district} không có trong kế hoạch / District {district} is not in the plan")
    if period not in set(plan.rounds.period):
        raise ValueError(
            f"Kỳ báo cáo {period} không có trong kế hoạch / Period {period} is not in the plan "
            f"({', '.join(plan.rounds.period)})"
        )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = REPORT_SHEET
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    sheet["A1"] = "BÁO CÁO KẾT QUẢ THỰC HIỆN DỰ ÁN 8 / PROJECT 8 PROGRESS REPORT"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = f"Kế hoạch / Plan {plan.meta['number']}"
    sheet["A3"], sheet[DISTRICT_CELL] = "Huyện / District", districts[district]
    sheet["C3"], sheet[CODE_CELL] = "Mã / Code", district
    sheet["A4"], sheet[PERIOD_CELL] = "Kỳ báo cáo / Period", period
    sheet["A5"] = "Ngày gửi (dd/mm/yyyy) / Date sent"
    sheet[SENT_CELL].fill = fill
    sheet[SENT_CELL].number_format = "DD/MM/YYYY"
    for column in COLUMNS:
        cell = sheet[f"{column.letter}{HEADER_ROW}"]
        cell.value = f"{column.header_vi}\n{column.header_en}"
        cell.font, cell.alignment = bold, Alignment(wrap_text=True, vertical="top")
    counts = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        errorTitle="Số không hợp lệ / Invalid number",
        error="Nhập số nguyên không âm / Enter a whole number of zero or more",
    )
    percents = DataValidation(
        type="decimal",
        operator="between",
        formula1="0",
        formula2="100",
        allow_blank=True,
        errorTitle="Tỷ lệ không hợp lệ / Invalid percent",
        error="Nhập số từ 0 đến 100 / Enter a number from 0 to 100",
    )
    sheet.add_data_validation(counts)
    sheet.add_data_validation(percents)
    for offset, row in enumerate(district_rows(plan, district).itertuples()):
        r = HEADER_ROW + 1 + offset
        how = HOW["percent" if row.measure == "percent" else row.aggregation]
        people = PEOPLE.get(row.people) if isinstance(row.people, str) else None
        values = dict(
            indicator=row.code,
            name=f"{row.name_vi}\n{row.name_en}",
            unit=f"{row.unit_vi} / {row.unit_en}",
            how=f"{how[0]} / {how[1]}" + (f"\nSố người: {people[0]} / Persons: {people[1]}" if people else ""),
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
    for r, (vi, en) in enumerate(INSTRUCTIONS + period_instructions(plan), start=1):
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

"""Reading what units submit: the Excel form of ``d8 template`` or a plain long table
(CSV, or the first sheet of an XLSX, or a spreadsheet another program saved) with the
columns ``district, period, indicator, value`` (Vietnamese headers accepted), as a
``Submission``: its rows as written, how its columns are labelled, and the problems
met while reading. Names are resolved and rules applied by ``d8lib.intake.checking``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from d8lib.core.digests import sha256_file
from d8lib.core.text import ascii_key, nfc, tone_key
from d8lib.intake import bounds, forms
from d8lib.intake.validation import NUMBERS, Formula, Problem, numbers

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
# Spreadsheets saved by other programs (LibreOffice, older Excel, WPS Office): read by
# calamine, then checked exactly as an .xlsx file is.
OTHER_SPREADSHEETS = {".ods", ".xls"}
TABLE_COLUMNS = ["district", "period", "indicator", "commune"] + NUMBERS + ["note", "done_on"]
REQUIRED_COLUMNS = ["district", "period", "indicator", "value"]
# Header spellings accepted in long tables, compared without case, tone placement or
# Unicode form; a header without diacritics is compared without them.
HEADER_ALIASES = {
    "district": ["district", "huyện", "tên huyện", "đơn vị", "huyện/thị xã/thành phố"],
    "period": ["period", "kỳ", "kỳ báo cáo"],
    "indicator": ["indicator", "chỉ số", "mã chỉ số", "mã"],
    "commune": ["commune", "xã", "xã/phường", "tên xã"],
    "value": ["value", "giá trị", "kết quả", "số lượng"],
    "numerator": ["numerator", "tử số"],
    "denominator": ["denominator", "mẫu số"],
    "people": ["people", "persons", "số người", "tổng số người"],
    "female": ["female", "nữ"],
    "male": ["male", "nam"],
    "ethnic_minority": ["ethnic_minority", "ethnic minority", "dtts", "người dtts", "dân tộc thiểu số"],
    "note": ["note", "ghi chú"],
    "done_on": ["done_on", "date done", "ngày thực hiện"],
    "sent_on": ["sent_on", "date sent", "ngày gửi"],
}


@dataclass
class Submission:
    """What one file holds once read: its rows, how its columns are labelled, problems."""

    path: Path
    sha256: str
    sheet: str = ""
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TABLE_COLUMNS))
    labels: dict = field(default_factory=dict)
    sent_on: dt.date | None = None
    plan: str = ""  # the number of the plan a d8 form was made for (its cell A2)
    problems: list[Problem] = field(default_factory=list)

    @property
    def reported_rows(self) -> pd.DataFrame:
        """Rows with at least one number: a blank row reports nothing."""
        if self.rows.empty:
            return self.rows
        return self.rows[numbers(self.rows).notna().any(axis=1)]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def problem(
        self,
        code: str,
        message_vi: str,
        message_en: str,
        row: int | None = None,
        column: str = "",
        value="",
        severity: str = "error",
        sheet: str | None = None,
    ) -> None:
        self.problems.append(
            Problem(
                self.path.name,
                self.sheet if sheet is None else sheet,
                row,
                column,
                "" if value is None else str(value),
                code,
                severity,
                message_vi,
                message_en,
            )
        )


def blank(value) -> bool:
    """An empty cell: nothing, blank text, NaN or NaT."""
    return (
        value is None
        or value is pd.NaT
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and pd.isna(value))
    )


def _cell(values, formulas, coordinate: str):
    """A cell's computed value, or a ``Formula`` where it has a formula but no value."""
    value = values[coordinate].value
    formula = formulas[coordinate].value
    if value is None and isinstance(formula, str) and formula.startswith("="):
        return Formula(formula)
    return nfc(value) if isinstance(value, str) else value


def read_date(value) -> dt.date | None:
    """A date as cells hold one (a date, or text as dd/mm/yyyy and the like); else None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(value.strip(), pattern).date()
            except ValueError:
                continue
    return None


def _sheet_rows(values, formulas, sheet: str, columns: list, unit, period) -> list[dict]:
    """The rows of one sheet of the form, from below its header to the first row without
    a code, with what the unit filled in."""
    sheet_values, sheet_formulas = values[sheet], formulas[sheet]
    records = []
    row = forms.HEADER_ROW + 1
    while not blank(sheet_values[f"A{row}"].value):
        record = dict(
            district=unit, period=period, commune=None, row=row, sheet=sheet, indicator=sheet_values[f"A{row}"].value
        )
        for column in columns:
            if column.filled_by_district:
                record[column.key] = _cell(sheet_values, sheet_formulas, f"{column.letter}{row}")
        records.append(record)
        row += 1
    return records


def _read_form(submission: Submission, values, formulas) -> None:
    sheet_values, sheet_formulas = values[submission.sheet], formulas[submission.sheet]
    district = _cell(sheet_values, sheet_formulas, forms.CODE_CELL)
    district_name = _cell(sheet_values, sheet_formulas, forms.DISTRICT_CELL)
    period = _cell(sheet_values, sheet_formulas, forms.PERIOD_CELL)
    sent = _cell(sheet_values, sheet_formulas, forms.SENT_CELL)
    submission.plan = forms.plan_number(_cell(sheet_values, sheet_formulas, forms.PLAN_CELL))
    submission.sent_on = read_date(sent)
    if not blank(sent) and submission.sent_on is None:
        submission.problem(
            "bad_date",
            "Ngày gửi không đúng dạng dd/mm/yyyy",
            "The date sent is not dd/mm/yyyy",
            row=5,
            column="B",
            value=sent,
        )
    unit = district if not blank(district) else district_name
    records = _sheet_rows(values, formulas, submission.sheet, forms.COLUMNS, unit, period)
    if not records:
        submission.problem(
            "no_rows",
            "Biểu mẫu không có dòng chỉ số nào",
            "The form has no indicator rows",
            row=forms.HEADER_ROW + 1,
            column="A",
        )
    milestones = next((n for n in values.sheetnames if ascii_key(n) == ascii_key(forms.MILESTONE_SHEET)), None)
    if milestones:
        records += _sheet_rows(values, formulas, milestones, forms.MILESTONE_COLUMNS, unit, period)
    submission.rows = pd.DataFrame(records, columns=["row", "sheet"] + TABLE_COLUMNS)
    submission.labels = {c.key: c.letter for c in forms.COLUMNS + forms.MILESTONE_COLUMNS} | {
        "district": forms.CODE_CELL,
        "period": forms.PERIOD_CELL,
    }


def _header_key(header) -> str | None:
    text = nfc(str(header)) if header is not None else ""
    for key, aliases in HEADER_ALIASES.items():
        if tone_key(text) in {tone_key(a) for a in aliases}:
            return key
    for key, aliases in HEADER_ALIASES.items():
        if ascii_key(text) in {ascii_key(a) for a in aliases}:
            return key
    return None


def _read_table(submission: Submission, table: pd.DataFrame, first_data_row: int) -> None:
    headers = {}
    for original in table.columns:
        key = _header_key(original)
        if key and key not in headers.values():
            headers[original] = key
    missing = [c for c in REQUIRED_COLUMNS if c not in headers.values()]
    if missing:
        found = ", ".join(str(c) for c in table.columns)
        submission.problem(
            "missing_columns",
            f"Thiếu cột {', '.join(missing)} (các cột có: {found})",
            f"Missing columns {', '.join(missing)} (columns found: {found})",
            row=1,
        )
        return
    if table.empty:
        submission.problem(
            "no_rows", "Bảng không có dòng số liệu nào", "The table has no data rows", row=first_data_row
        )
        return
    rows = table.rename(columns=headers)[list(headers.values())]
    if "sent_on" in rows:
        stated = [v for v in rows.sent_on if not blank(v)]
        submission.sent_on = read_date(stated[0]) if stated else None
        if stated and submission.sent_on is None:
            submission.problem(
                "bad_date",
                "Ngày gửi không đúng dạng dd/mm/yyyy",
                "The date sent is not dd/mm/yyyy",
                row=first_data_row,
                column=str(next(k for k, v in headers.items() if v == "sent_on")),
                value=stated[0],
            )
    for column in TABLE_COLUMNS:
        if column not in rows:
            rows[column] = None
    rows = rows[TABLE_COLUMNS].astype(object).where(rows[TABLE_COLUMNS].notna(), None)
    rows.insert(0, "row", range(first_data_row, first_data_row + len(rows)))
    submission.rows = rows.map(lambda v: nfc(v) if isinstance(v, str) else v)
    submission.labels = {key: str(original) for original, key in headers.items()}


def _as_workbook(path: Path):
    """An .ods or .xls file as an openpyxl workbook of its values, cell for cell."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, grid in bounds.read_sheets(path).items():
        sheet = book.create_sheet(title=str(name)[:31])
        for r, line in enumerate(grid, start=1):
            for c, value in enumerate(line, start=1):
                if not blank(value):
                    sheet.cell(r, c).value = int(value) if isinstance(value, float) and value.is_integer() else value
    return book


def _open_workbook(path: Path):
    """The workbook's computed values and its formulas (the same for .ods and .xls, whose
    readers give values only, and for a workbook without a formula, whose cells are their
    values: it is read once)."""
    suffix = path.suffix.lower()
    if suffix in OTHER_SPREADSHEETS:
        book = _as_workbook(path)
        return book, book
    formulas = load_workbook(path, data_only=False, read_only=False)
    if not any(cell.data_type == "f" for sheet in formulas.worksheets for cell in sheet._cells.values()):
        return formulas, formulas
    return load_workbook(path, data_only=True, read_only=False), formulas


def _used_extent(sheet) -> tuple[int, int]:
    """The last row and column of a sheet that hold a value or a formula. A sheet's own
    extent also counts cells that only carry a format, which can reach the sheet's end;
    only the stored cells are looked at (openpyxl keeps them in ``_cells``)."""
    used = [key for key, cell in sheet._cells.items() if not blank(cell.value)]
    return (max(r for r, _ in used), max(c for _, c in used)) if used else (0, 0)


def _read_excel(submission: Submission) -> None:
    try:
        values, formulas = _open_workbook(submission.path)
    except bounds.SheetReadError as exc:
        refusal = exc.refusal
        submission.problem(refusal.code, refusal.message_vi, refusal.message_en, value=refusal.value)
        return
    except Exception as exc:  # noqa: BLE001 - every reader fails its own way on a damaged file; never a crash
        submission.problem(
            "unreadable_file",
            f"Không đọc được tệp bảng tính ({type(exc).__name__})",
            f"The spreadsheet cannot be read ({type(exc).__name__}); is it really a {submission.path.suffix} file?",
        )
        return
    report = next(
        (name for name in values.sheetnames if ascii_key(name) in {ascii_key(forms.REPORT_SHEET), "report"}), None
    )
    if report:
        submission.sheet = report
        _read_form(submission, values, formulas)
        return
    if any(ascii_key(name) == ascii_key(forms.INSTRUCTIONS_SHEET) for name in values.sheetnames):
        submission.problem(
            "missing_sheet",
            f"Biểu mẫu thiếu trang «{forms.REPORT_SHEET}»",
            f"The form lacks its '{forms.REPORT_SHEET}' sheet",
            value=", ".join(values.sheetnames),
        )
        return
    if not values.sheetnames:
        submission.problem("empty_file", "Tệp không có trang tính nào", "The workbook has no sheet")
        return
    submission.sheet = values.sheetnames[0]
    sheet_values, sheet_formulas = values[submission.sheet], formulas[submission.sheet]
    last_row, last_column = _used_extent(sheet_formulas)
    grid = (
        [
            [_cell(sheet_values, sheet_formulas, c.coordinate) for c in line]
            for line in sheet_values.iter_rows(max_row=last_row, max_col=last_column)
        ]
        if last_row
        else []
    )
    grid = [line for line in grid if not all(blank(v) for v in line)]
    if not grid:
        submission.problem("empty_file", "Trang tính đầu tiên trống", "The first sheet is empty")
        return
    _read_table(submission, pd.DataFrame(grid[1:], columns=grid[0]), first_data_row=2)


def _read_csv(submission: Submission) -> None:
    raw = submission.path.read_bytes()
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        submission.problem("unreadable_file", "Không đọc được mã ký tự của tệp CSV", "Cannot decode the CSV file")
        return
    try:
        table = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, sep=bounds.separator(text.split("\n", 1)[0])
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        submission.problem("unreadable_file", f"Không đọc được tệp CSV ({exc})", f"The CSV file cannot be read ({exc})")
        return
    table = table.replace("", None)
    _read_table(submission, table, first_data_row=2)


def read_submission(path: str | Path) -> Submission:
    """Read a file as received, before any name is resolved."""
    path = Path(path)
    if not path.is_file():
        submission = Submission(path, "")
        submission.problem("missing_file", "Không tìm thấy tệp", "File not found")
        return submission
    submission = Submission(path, sha256_file(path))
    refusal = bounds.inspect(path)
    if path.stat().st_size == 0:
        submission.problem("empty_file", "Tệp rỗng (0 byte)", "The file is empty (0 bytes)")
    elif refusal:
        submission.problem(refusal.code, refusal.message_vi, refusal.message_en, value=refusal.value)
    elif path.suffix.lower() in EXCEL_SUFFIXES | OTHER_SPREADSHEETS:
        _read_excel(submission)
    elif path.suffix.lower() in {".csv", ".txt"}:
        _read_csv(submission)
    else:
        submission.problem(
            "wrong_file_type",
            f"Loại tệp không được nhận: «{path.suffix}»; hãy gửi .xlsx, .ods, .xls hoặc .csv",
            f"File type '{path.suffix}' is not accepted; send .xlsx, .ods, .xls or .csv",
            value=path.suffix,
        )
    return submission

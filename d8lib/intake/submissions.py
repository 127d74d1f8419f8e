"""Reading what districts submit: the Excel form of ``d8 template`` or a plain long
table (CSV, or the first sheet of an XLSX) with the columns ``district, period,
indicator, value`` (Vietnamese headers accepted). A file with an error is rejected
whole and changes nothing; a file with warnings only is accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import errno
import io
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from d8lib.core.digests import sha256_file
from d8lib.core.text import ascii_key, nfc, tone_key
from d8lib.intake import bounds, forms
from d8lib.intake.store import JOURNAL, Store, StoreError
from d8lib.intake.validation import NUMBERS, Formula, Problem, numbers, validate
from d8lib.plan.model import Plan
from d8lib.units import reform
from d8lib.units.registry import UnitError, Units

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


@dataclass
class IntakeResult:
    """The outcome for one file: ``status`` is accepted, rejected or unchanged."""

    path: Path
    status: str
    problems: list[Problem]
    submission_ids: list[int] = field(default_factory=list)

    @property
    def d8_failed(self) -> bool:
        """Rejected because of the store, the disk or d8 itself, not the file."""
        return any(p.code in D8_FAILURES for p in self.problems)


# --- reading ------------------------------------------------------------------------


def _blank(value) -> bool:
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


def _date(value) -> dt.date | None:
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
    while not _blank(sheet_values[f"A{row}"].value):
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
    submission.sent_on = _date(sent)
    if not _blank(sent) and submission.sent_on is None:
        submission.problem(
            "bad_date",
            "Ngày gửi không đúng dạng dd/mm/yyyy",
            "The date sent is not dd/mm/yyyy",
            row=5,
            column="B",
            value=sent,
        )
    unit = district if not _blank(district) else district_name
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
        stated = [v for v in rows.sent_on if not _blank(v)]
        submission.sent_on = _date(stated[0]) if stated else None
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
                if not _blank(value):
                    sheet.cell(r, c).value = int(value) if isinstance(value, float) and value.is_integer() else value
    return book


def _open_workbook(path: Path):
    """The workbook's computed values and its formulas (the same for .ods and .xls, whose
    readers give values only)."""
    suffix = path.suffix.lower()
    if suffix in OTHER_SPREADSHEETS:
        book = _as_workbook(path)
        return book, book
    return load_workbook(path, data_only=True, read_only=False), load_workbook(path, data_only=False, read_only=False)


def _used_extent(sheet) -> tuple[int, int]:
    """The last row and column of a sheet that hold a value or a formula. A sheet's own
    extent also counts cells that only carry a format, which can reach the sheet's end;
    only the stored cells are looked at (openpyxl keeps them in ``_cells``)."""
    used = [key for key, cell in sheet._cells.items() if not _blank(cell.value)]
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
    grid = [line for line in grid if not all(_blank(v) for v in line)]
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


# --- resolving names and joining the plan ---------------------------------------------


def _period(value) -> str | None:
    if _blank(value):
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
    for r in rows.itertuples():
        problem = partial(submission.problem, sheet=r.sheet)
        district = None
        if not _blank(r.district):
            text = nfc(str(r.district))
            try:
                district = text if text in districts else _reporting_unit(units, text, levels)
            except UnitError as exc:
                problem(
                    "unknown_district",
                    exc.message_vi,
                    exc.message_en,
                    row=r.row,
                    column=labels.get("district", ""),
                    value=text,
                )
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
        if not _blank(r.commune) and district:
            try:
                commune = units.resolve(str(r.commune), level="commune", within=district)
            except UnitError as exc:
                problem("unknown_commune", exc.message_vi, exc.message_en, r.row, labels.get("commune", ""), r.commune)
        code = str(r.indicator).strip().upper() if not _blank(r.indicator) else None
        if code not in kinds.index:
            close = difflib.get_close_matches(code or "", list(kinds.index), n=3)
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
        elif kinds[code] == "milestone" and district and code not in set(plan.milestones_of(district).key):
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
    if _blank(value):
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
        if not _blank(r.value):
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
        if not _blank(r.done_on):
            dates[k] = _date(r.done_on) or r.done_on
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


# Rejections that are d8's failure, not the file's: the store, the disk or d8 itself.
D8_FAILURES = ("store_damaged", "disk_full", "storage_failed", "internal_error")


def _failure(path: Path, exc: BaseException) -> Problem:
    """A failure while taking in one file, as a rejection of that file."""
    disk_full = (
        isinstance(exc, OSError)
        and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
        or isinstance(exc, sqlite3.OperationalError)
        and "full" in str(exc)
    )
    if isinstance(exc, StoreError):
        code, vi, en = "store_damaged", exc.message_vi, exc.message_en
    elif disk_full:
        code, vi, en = (
            "disk_full",
            f"Ổ đĩa đầy, không lưu được tệp ({exc})",
            f"The disk is full; the file could not be stored ({exc})",
        )
    elif isinstance(exc, (OSError, sqlite3.Error)):
        code, vi, en = (
            "storage_failed",
            f"Không lưu được tệp ({type(exc).__name__}: {exc})",
            f"The file could not be stored ({type(exc).__name__}: {exc})",
        )
    else:
        code, vi, en = (
            "internal_error",
            f"Lỗi của d8 khi đọc tệp ({type(exc).__name__}: {exc}); hãy báo cho nhóm kỹ thuật",
            f"d8 failed on this file ({type(exc).__name__}: {exc}); please tell the technical team",
        )
    return Problem(path.name, "", None, "", "", code, "error", vi, en)


def _take_in(path: Path, store: Store, plan: Plan, units: Units, sent_on: dt.date | None) -> IntakeResult:
    submission = read_submission(path)
    if submission.sha256 and store.has_file(submission.sha256):
        return IntakeResult(path, "unchanged", [])
    check(submission, plan, units, store.values())
    if submission.errors:
        return IntakeResult(path, "rejected", submission.problems)
    ids = store.accept(
        path, submission.sha256, submission.reported_rows, submission.sent_on or sent_on, submission.warnings
    )
    if ids is None:  # a concurrent intake stored the same file first
        return IntakeResult(path, "unchanged", [])
    older = [
        Problem(
            path.name,
            "",
            None,
            "",
            f"{r.district} {r.period}",
            "older_than_stored",
            "warning",
            f"Tệp gửi ngày {r.sent_on or '?'} cũ hơn tệp đang dùng (gửi ngày {r.standing_sent_on or '?'}): "
            "đã lưu vào lịch sử, số liệu đang dùng không đổi",
            f"This file, sent {r.sent_on or '?'}, is older than the one in use (sent {r.standing_sent_on or '?'}): "
            "kept in the history, the figures in use are unchanged",
        )  # fmt: skip
        for r in store.kept_as_history(ids).itertuples()
    ]
    return IntakeResult(path, "accepted", submission.problems + older, ids)


def intake(
    paths: list[str | Path], store: Store, plan: Plan, units: Units, sent_on: dt.date | None = None
) -> list[IntakeResult]:
    """Validate each file and store those without errors, one transaction per file.
    Whatever goes wrong with one file (the disk, the store, d8 itself) is that file's
    rejection, and the next file is taken in."""
    results = []
    for path in map(Path, paths):
        try:
            results.append(_take_in(path, store, plan, units, sent_on))
        except Exception as exc:  # noqa: BLE001 - reported as this file's rejection; the batch goes on
            results.append(IntakeResult(path, "rejected", [_failure(path, exc)]))
    return results


def rebuild(store_dir: str | Path, plan: Plan, units: Units) -> tuple[Path, list[IntakeResult]]:
    """Rebuild a damaged store from its raw archive: every file of ``received.jsonl``
    taken in again, in the order it first came, under the rules of today. The damaged
    database is kept beside the new one as ``d8.sqlite.damaged-<time>``; returns its
    path and the outcome for each file."""
    damaged = Store(store_dir)
    entries = damaged.journal()
    if not entries:
        raise StoreError(
            f"Không có tệp gốc nào để dựng lại kho {damaged.directory} ({JOURNAL} trống hoặc thiếu)",
            f"No raw file to rebuild the store {damaged.directory} from ({JOURNAL} empty or missing)",
        )
    staging = damaged.directory / f".rebuild-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    fresh = Store(staging)
    fresh.raw = damaged.raw  # the archive is shared, never copied
    results = []
    for entry in entries:
        raw = damaged.raw / entry["archived_as"]
        submission = read_submission(raw)
        check(submission, plan, units, fresh.values())
        if submission.errors:
            results.append(IntakeResult(Path(entry["name"]), "rejected", submission.problems))
            continue
        sent_on = dt.date.fromisoformat(entry["sent_on"]) if entry["sent_on"] else None
        ids = fresh.accept(
            raw,
            submission.sha256,
            submission.reported_rows,
            sent_on,
            submission.warnings,
            received_at=entry["received_at"],
            name=entry["name"],
        )
        results.append(IntakeResult(Path(entry["name"]), "accepted", submission.problems, ids or []))
    if not fresh.path.exists():
        shutil.rmtree(staging)
        raise StoreError(
            f"Không tệp gốc nào được nhận lại; kho {damaged.directory} giữ nguyên",
            f"No raw file was accepted again; the store {damaged.directory} is left as it was",
        )
    kept = damaged.path.with_name(f"{damaged.path.name}.damaged-{dt.datetime.now():%Y%m%d-%H%M%S}")
    if damaged.path.exists():
        os.replace(damaged.path, kept)
    os.replace(fresh.path, damaged.path)
    os.replace(staging / JOURNAL, damaged.directory / JOURNAL)
    shutil.rmtree(staging)
    return kept, results

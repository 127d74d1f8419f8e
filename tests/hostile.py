"""Hostile submission files, built as an attacker or an unlucky district would make
them. Each builder writes one file into a folder and returns its path and the codes
that intake may answer with (``accepted`` for a file that must go in)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from helpers import filled_form, long_table
from openpyxl import Workbook
from openpyxl.styles import Font

HOSTILE_DATA = Path(__file__).resolve().parent / "data" / "hostile"
HEADER = ["district", "period", "indicator", "value"]
GOOD = {"O1": {"value": 20, "people": 100, "female": 60, "male": 40, "ethnic_minority": 90}}


def _xlsx(path: Path, rows: list[list], far: tuple[int, int] | None = None, styled_only: bool = False) -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if far:
        cell = sheet.cell(*far)
        if styled_only:
            cell.font = Font(bold=True)
        else:
            cell.value = 1
    book.save(path)
    return path


def _rewrite(source: Path, target: Path, change) -> Path:
    """Copy a zip archive, passing each part's bytes through ``change(name, data)``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, change(item.filename, old.read(item.filename)))
    return target


def far_cell(folder: Path, plan):
    return _xlsx(folder / "a1-and-xfd1048576.xlsx", [HEADER], far=(1048576, 16384)), {"too_many_rows"}


def far_column(folder: Path, plan):
    return _xlsx(folder / "far-column.xlsx", [HEADER, ["Bắc Hà", "2024", "O1", 30]], far=(2, 300)), {"too_many_columns"}


def far_format_only(folder: Path, plan):
    """A good table whose last cell carries only a format at the sheet's very end."""
    rows = [HEADER, ["Bắc Hà", "2024", "O1", 30]]
    return _xlsx(folder / "formatted-to-the-end.xlsx", rows, far=(1048576, 16384), styled_only=True), {"accepted"}


def many_rows(folder: Path, plan):
    rows = [HEADER] + [["Bắc Hà", "2024", "O1", 30]] * 25_000
    return _xlsx(folder / "25000-rows.xlsx", rows), {"too_many_rows"}


def duplicated_csv(folder: Path, plan):
    """10,000 copies of one row: once quadratic in the rule that looks at earlier periods."""
    rows = [{"district": "Bắc Hà", "period": "2024", "indicator": "O1", "value": "30"}] * 10_000
    return long_table(folder / "10000-duplicates.csv", rows), {"duplicate_row"}


def long_csv(folder: Path, plan):
    path = folder / "long.csv"
    path.write_text("district,period,indicator,value\n" + "Bắc Hà,2024,O1,30\n" * 30_000, encoding="utf-8")
    return path, {"too_many_rows"}


def large_csv(folder: Path, plan):
    path = folder / "21mb.csv"
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("district,period,indicator,value,note\n")
        stream.write("Bắc Hà,2024,O1,30," + "x" * (21 << 20) + "\n")
    return path, {"file_too_large"}


def one_long_line(folder: Path, plan):
    path = folder / "one-line.csv"
    path.write_text("district;" * 500_000, encoding="utf-8")
    return path, {"too_many_columns"}


def nul_bytes(folder: Path, plan):
    path = folder / "nul.csv"
    path.write_bytes(b"district,period,indicator,value\nB\x00c H\x00,2024,O1,30\n")
    return path, {"unreadable_file", "unknown_district"}


def utf16_csv(folder: Path, plan):
    path = folder / "utf16.csv"
    path.write_text("district,period,indicator,value\nBắc Hà,2024,O1,30\n", encoding="utf-16")
    return path, {"accepted", "missing_columns", "unreadable_file"}


def zip_bomb(folder: Path, plan):
    path = folder / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            block = b"\0" * (1 << 20)
            for _ in range(400):
                part.write(block)
    return path, {"unpacks_too_large"}


def many_parts(folder: Path, plan):
    path = folder / "parts.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for k in range(3000):
            archive.writestr(f"xl/media/image{k}.png", b"")
    return path, {"too_many_parts"}


def billion_laughs(folder: Path, plan):
    source = _xlsx(folder / "plain.xlsx", [HEADER, ["Bắc Hà", "2024", "O1", 30]])
    entities = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{k} "{("&lol" + str(k - 1) + ";") * 10 if k else "&lol;" * 10}">' for k in range(9))
        + "]>"
    )

    def change(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return entities.encode() + data.replace(b"<v>30</v>", b"<v>&lol8;</v>")
        return data

    return _rewrite(source, folder / "laughs.xlsx", change), {"unsafe_xml"}


def external_entity(folder: Path, plan):
    source = _xlsx(folder / "plain2.xlsx", [HEADER, ["Bắc Hà", "2024", "O1", 30]])
    doctype = b'<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'

    def change(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return doctype + data.replace(b"<t>district</t>", b"<t>&secret;</t>")
        return data

    return _rewrite(source, folder / "xxe.xlsx", change), {"unsafe_xml"}


def no_sheets(folder: Path, plan):
    source = _xlsx(folder / "plain3.xlsx", [HEADER])

    def change(name, data):
        if name == "xl/workbook.xml":
            start, end = data.index(b"<sheets>"), data.index(b"</sheets>") + len(b"</sheets>")
            return data[:start] + b"<sheets/>" + data[end:]
        return data

    return _rewrite(source, folder / "no-sheets.xlsx", change), {"empty_file", "unreadable_file"}


def truncated_xlsx(folder: Path, plan):
    source = _xlsx(folder / "plain4.xlsx", [HEADER, ["Bắc Hà", "2024", "O1", 30]])
    path = folder / "truncated.xlsx"
    path.write_bytes(source.read_bytes()[:1500])
    return path, {"unreadable_file"}


def csv_named_xlsx(folder: Path, plan):
    path = folder / "really-a-csv.xlsx"
    path.write_text("district,period,indicator,value\nBắc Hà,2024,O1,30\n", encoding="utf-8")
    return path, {"unreadable_file"}


def far_cell_ods(folder: Path, plan):
    return HOSTILE_DATA / "far-cell.ods", {"too_many_rows"}


def far_cell_xls(folder: Path, plan):
    """An .xls whose two cells make its reader allocate 65,536 x 256 cells."""
    return HOSTILE_DATA / "far-cell.xls", {"reader_memory", "too_many_rows"}


def note_formula_and_time(folder: Path, plan):
    """A note cell holding a formula without a cached value, another holding a time."""
    import datetime as dt

    values = {
        "O1": dict(GOOD["O1"], note='=CONCATENATE("a","b")'),
        "O2": {"value": 5, "people": 120, "female": 110, "male": 10, "ethnic_minority": 100, "note": dt.time(9, 30)},
    }
    return filled_form(plan, "085", "2024", folder / "notes.xlsx", values), {"accepted"}


def hyperlink_value(folder: Path, plan):
    values = {"O1": dict(GOOD["O1"], value='=HYPERLINK("http://example.invalid","x")')}
    return filled_form(plan, "085", "2024", folder / "hyperlink.xlsx", values), {"formula_without_value"}


def infinite_value(folder: Path, plan):
    path = long_table(
        folder / "inf.csv", [{"district": "Bắc Hà", "period": "2024", "indicator": "O1", "value": "1e400"}]
    )
    return path, {"not_a_number"}


def whole_number_past_a_float(folder: Path, plan):
    """A cell holding a whole number of 401 digits, which no float holds (written into
    the sheet's XML: openpyxl itself cannot write it)."""
    source = _xlsx(folder / "placeholder.xlsx", [HEADER, ["Bắc Hà", "2024", "O1", 271828]])

    def change(name, data):
        return (
            data.replace(b"<v>271828</v>", b"<v>1" + b"0" * 400 + b"</v>")
            if name.startswith("xl/worksheets/")
            else data
        )

    return _rewrite(source, folder / "huge-whole-number.xlsx", change), {"not_a_number"}


def boolean_and_date_values(folder: Path, plan):
    import datetime as dt

    rows = [HEADER, ["Bắc Hà", "2024", "O1", True], ["Bắc Hà", "2024", "O2", dt.datetime(2024, 9, 1)]]
    return _xlsx(folder / "true-and-date.xlsx", rows), {"not_a_number"}


def formula_text_values(folder: Path, plan):
    """Names that a spreadsheet would take for formulas; kept as text, and rejected."""
    path = long_table(
        folder / "formula-text.csv",
        [{"district": "=cmd|' /C calc'!A0", "period": "2024", "indicator": "@SUM(1)", "value": "+30"}],
    )
    return path, {"unknown_district", "unknown_indicator"}


def control_characters(folder: Path, plan):
    path = long_table(
        folder / "escape.csv",
        [{"district": "Bắc Hà\x1b[2J\rACCEPTED", "period": "2024", "indicator": "O1", "value": "30"}],
    )
    return path, {"unknown_district"}


def huge_number_of_columns_csv(folder: Path, plan):
    path = folder / "wide.csv"
    path.write_text(
        ",".join(f"c{k}" for k in range(5000)) + "\n" + ",".join("1" for _ in range(5000)) + "\n", encoding="utf-8"
    )
    return path, {"too_many_columns"}


def empty_xlsx_sheet(folder: Path, plan):
    return _xlsx(folder / "empty-sheet.xlsx", []), {"empty_file"}


def zero_bytes_ods(folder: Path, plan):
    path = folder / "empty.ods"
    path.write_bytes(b"")
    return path, {"empty_file"}


def garbage_xls(folder: Path, plan):
    path = folder / "garbage.xls"
    path.write_bytes(bytes(range(256)) * 64)
    return path, {"unreadable_file"}


def garbage_ods(folder: Path, plan):
    path = folder / "garbage.ods"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", b"<not-closed")
    path.write_bytes(buffer.getvalue())
    return path, {"unreadable_file"}


FILES = [
    far_cell,
    far_column,
    far_format_only,
    many_rows,
    duplicated_csv,
    long_csv,
    large_csv,
    one_long_line,
    nul_bytes,
    utf16_csv,
    zip_bomb,
    many_parts,
    billion_laughs,
    external_entity,
    no_sheets,
    truncated_xlsx,
    csv_named_xlsx,
    far_cell_ods,
    far_cell_xls,
    note_formula_and_time,
    hyperlink_value,
    infinite_value,
    whole_number_past_a_float,
    boolean_and_date_values,
    formula_text_values,
    control_characters,
    huge_number_of_columns_csv,
    empty_xlsx_sheet,
    zero_bytes_ods,
    garbage_xls,
    garbage_ods,
]

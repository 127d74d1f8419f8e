"""Bounds on a submitted file, checked before any parser trusts it.

A spreadsheet declares its own size, and a zip archive its own contents; neither is
believed. ``inspect`` measures a file (its size, the parts and unpacked size of an
.xlsx or .ods, the cells its sheets really hold, read with entity expansion and
external entities off) and returns a ``Refusal`` for a file beyond the limits of
``data/rules/limits.yaml``. ``read_sheets`` reads .ods and .xls files in a child
process held to a memory and time limit, since their reader allocates what the file
declares.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

from d8lib.core.paths import DATA_DIR

MB = 1 << 20
ZIPPED = {".xlsx", ".xlsm", ".ods"}
TEXT_TABLES = {".csv", ".txt"}
_REFERENCE = re.compile(r"([A-Z]+)(\d+)")
_ODS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}


@dataclass(frozen=True)
class Refusal:
    """Why a file is not read: a code and the reason in both languages."""

    code: str
    message_vi: str
    message_en: str
    value: str = ""


class SheetReadError(RuntimeError):
    """The bounded reader could not read the file (``refusal`` says why)."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message_en)
        self.refusal = refusal


@lru_cache(maxsize=1)
def limits() -> dict:
    """The limits of ``data/rules/limits.yaml``."""
    return yaml.safe_load((DATA_DIR / "rules" / "limits.yaml").read_text(encoding="utf-8"))


def inspect(path: Path, bounds: dict | None = None) -> Refusal | None:
    """A refusal if the file exceeds a limit (of a district's file, or ``bounds``) or
    holds unsafe XML; None otherwise (a file that is merely damaged is left for its
    reader to report)."""
    bounds = bounds or limits()
    size = path.stat().st_size
    if size > bounds["file_megabytes"] * MB:
        return Refusal(
            "file_too_large",
            f"Tệp quá lớn: {size / MB:.1f} MB (tối đa {bounds['file_megabytes']} MB)",
            f"The file is too large: {size / MB:.1f} MB (at most {bounds['file_megabytes']} MB)",
            f"{size} bytes",
        )
    suffix = path.suffix.lower()
    if suffix in TEXT_TABLES:
        with open(path, "rb") as stream:
            head = stream.readline(MB)
            stream.seek(0)
            lines = sum(block.count(b"\n") for block in iter(lambda: stream.read(MB), b""))
        columns = head.count(separator(head.decode("latin-1")).encode()) + 1
        return _extent_refusal(lines, columns, 0, bounds)
    if (suffix in ZIPPED or suffix == ".zip") and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return _inspect_archive(archive, suffix, bounds)
        except DefusedXmlException as exc:
            return Refusal(
                "unsafe_xml",
                f"Tệp chứa XML không an toàn ({type(exc).__name__}), không đọc",
                f"The file holds unsafe XML ({type(exc).__name__}) and is not read",
            )
        except (ParseError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            return Refusal(
                "unreadable_file",
                f"Tệp bảng tính bị hỏng ({type(exc).__name__})",
                f"The spreadsheet is damaged ({type(exc).__name__})",
            )
    return None


def separator(header: str) -> str:
    """The field separator of a text table: the most frequent of , ; tab | in its
    header line (a comma when there is none)."""
    counts = {mark: header.count(mark) for mark in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _inspect_archive(archive: zipfile.ZipFile, suffix: str, bounds: dict) -> Refusal | None:
    entries = archive.infolist()
    if len(entries) > bounds["zip_entries"]:
        return Refusal(
            "too_many_parts",
            f"Tệp có {len(entries)} phần bên trong (tối đa {bounds['zip_entries']})",
            f"The file holds {len(entries)} parts (at most {bounds['zip_entries']})",
            str(len(entries)),
        )
    unpacked = sum(e.file_size for e in entries)
    if unpacked > bounds["unpacked_megabytes"] * MB:
        return Refusal(
            "unpacks_too_large",
            f"Tệp giải nén ra {unpacked / MB:.0f} MB (tối đa {bounds['unpacked_megabytes']} MB)",
            f"The file unpacks to {unpacked / MB:.0f} MB (at most {bounds['unpacked_megabytes']} MB)",
            f"{unpacked} bytes",
        )
    names = [e.filename for e in entries]
    if suffix == ".zip":  # csv files, measured as their reader reads them
        return None
    if suffix == ".ods":
        parts = [n for n in names if n == "content.xml"]
        measure = _ods_extent
    else:
        parts = [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        measure = _xlsx_extent
    for name in [n for n in names if n.endswith((".xml", ".rels"))]:
        if name not in parts:
            _parse_safely(archive, name)
    rows = columns = cells = 0
    for name in parts:
        part_rows, part_columns, part_cells = measure(archive, name, bounds)
        rows, columns, cells = max(rows, part_rows), max(columns, part_columns), cells + part_cells
        refusal = _extent_refusal(rows, columns, cells, bounds)
        if refusal:
            return refusal
    return None


def _parse_safely(archive: zipfile.ZipFile, name: str) -> None:
    """Read one XML part through the defused parser (raises on entities and DTDs)."""
    with archive.open(name) as stream:
        for _event, element in iterparse(stream, events=("end",)):
            element.clear()


def _extent_refusal(rows: int, columns: int, cells: int, bounds: dict) -> Refusal | None:
    for count, key, vi, en in (
        (rows, "rows", "dòng", "rows"),
        (columns, "columns", "cột", "columns"),
        (cells, "cells", "ô", "cells"),
    ):
        if count > bounds[key]:
            counted = f"{count:,}{'+' if key == 'cells' else ''}"  # cells are counted up to the limit only
            return Refusal(
                f"too_many_{key}",
                f"Tệp có hơn {bounds[key]:,} {vi} chứa dữ liệu (có {counted})",
                f"The file has more than {bounds[key]:,} {en} in use ({counted})",
                str(count),
            )
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _xlsx_extent(archive: zipfile.ZipFile, name: str, bounds: dict) -> tuple[int, int, int]:
    """The last row and column holding a value, and the number of cells stored, in one
    worksheet part; stops counting once a limit is passed."""
    rows = columns = cells = 0
    row = column = 0
    with archive.open(name) as stream:
        for event, element in iterparse(stream, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start" and tag == "row":
                row = int(element.get("r") or row + 1)
                column = 0
            elif event == "end" and tag == "c":
                match = _REFERENCE.fullmatch(element.get("r") or "")
                column = _column_number(match.group(1)) if match else column + 1
                row = int(match.group(2)) if match else row
                cells += 1
                if any(_local(child.tag) in ("v", "is", "f") for child in element):
                    rows, columns = max(rows, row), max(columns, column)
                element.clear()
                if _extent_refusal(rows, columns, cells, bounds):
                    break
            elif event == "end" and tag == "row":
                element.clear()
    return rows, columns, cells


def _ods_extent(archive: zipfile.ZipFile, name: str, bounds: dict) -> tuple[int, int, int]:
    """The same for an OpenDocument spreadsheet, counting repeated rows and cells."""
    table, office = _ODS["table"], _ODS["office"]
    rows = columns = cells = 0
    row = column = 0
    row_repeat = 1
    with archive.open(name) as stream:
        for event, element in iterparse(stream, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start" and tag == "table":
                row = 0
            elif event == "start" and tag == "table-row":
                row_repeat = int(element.get(f"{{{table}}}number-rows-repeated") or 1)
                column = 0
            elif event == "end" and tag in ("table-cell", "covered-table-cell"):
                repeat = int(element.get(f"{{{table}}}number-columns-repeated") or 1)
                if element.get(f"{{{office}}}value-type") or len(element):
                    cells += repeat * row_repeat
                    rows, columns = max(rows, row + row_repeat), max(columns, column + repeat)
                column += repeat
                element.clear()
                if _extent_refusal(rows, columns, cells, bounds):
                    break
            elif event == "end" and tag == "table-row":
                row += row_repeat
                element.clear()
    return rows, columns, cells


# --- the bounded reader of .ods and .xls files ------------------------------------------------


def read_sheets(path: Path) -> dict[str, list[list]]:
    """Every sheet of an .ods or .xls file as rows of values, read in a child process
    that may use ``reader_megabytes`` of memory and ``reader_seconds`` of time."""
    bounds = limits()
    memory = bounds["reader_megabytes"] * MB

    def hold() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    try:
        child = subprocess.run(
            [sys.executable, "-m", "d8lib.intake.bounds", str(path)],
            capture_output=True,
            timeout=bounds["reader_seconds"],
            preexec_fn=hold,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SheetReadError(
            Refusal(
                "reader_timeout",
                f"Đọc tệp mất hơn {bounds['reader_seconds']} giây; tệp quá lớn hoặc hỏng",
                f"Reading the file took over {bounds['reader_seconds']} seconds; it is too large or damaged",
            )
        ) from None
    if child.returncode != 0:
        said = child.stderr.decode("utf-8", "replace")
        if "memory" in said.lower() or child.returncode < 0:
            raise SheetReadError(
                Refusal(
                    "reader_memory",
                    f"Đọc tệp cần hơn {bounds['reader_megabytes']} MB bộ nhớ; tệp quá lớn hoặc hỏng",
                    f"Reading the file needs over {bounds['reader_megabytes']} MB of memory; it is too large or damaged",
                )
            )
        reason = [line for line in said.strip().splitlines() if not line.startswith("note:")][-1:] or [""]
        raise SheetReadError(
            Refusal(
                "unreadable_file",
                f"Không đọc được tệp bảng tính ({reason[0][:200]})",
                f"The spreadsheet cannot be read ({reason[0][:200]})",
            )
        )
    return pickle.loads(child.stdout)


def _read_in_child(path: str) -> None:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(path)
    sheets = {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in book.sheet_names}
    sys.stdout.buffer.write(pickle.dumps(sheets))


if __name__ == "__main__":
    _read_in_child(sys.argv[1])

"""The Excel twin of a report: its tables as sheets, every cell plain text or a number,
never a formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from d8lib.reports.formats import WITHHELD


def write_excel(
    tables: dict[str, pd.DataFrame], path: str | Path, note: str = "", notes: dict[str, list[str]] | None = None
) -> Path:
    """One sheet per table, headers as the report shows them, numbers as numbers,
    withheld cells as ``x`` and text never a formula; under each table its own ``notes``
    (the reasons its flags refer to), then the ``note`` of every sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, frame in tables.items():
        sheet = workbook.create_sheet(name[:31])
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            sheet.append([_excel_value(v) for v in row])
        for k, column in enumerate(frame.columns, start=1):
            sheet.column_dimensions[sheet.cell(1, k).column_letter].width = min(max(len(str(column)) + 2, 10), 60)
        own = (notes or {}).get(name, [])
        if own or note:
            sheet.append([])
        for line in [*own, note] if note else own:
            sheet.append([line])
        _text_only(sheet)
    path = Path(path)
    workbook.save(path)
    return path


# What spreadsheet programs would take as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_only(sheet) -> None:
    """Every text cell stays text: one that starts like a formula is stored as a string
    with Excel's quote prefix (shown as typed, never evaluated)."""
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                cell.data_type = "s"
                cell.quotePrefix = True


def _excel_value(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return WITHHELD
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value

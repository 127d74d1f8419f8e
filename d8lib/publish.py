"""What leaves the building: disclosure control, labels in Vietnamese or English, tables
and charts as self-contained HTML, and the Excel twin of a report.

Disclosure rule (stated in every report's methods annex): a count of people below
``MIN_COUNT`` (5) is withheld, and so is a complementary cell wherever a withheld value
could otherwise be recovered from a published total; a survey percentage that the
presentation standard (``d8lib.standards``) withholds is not shown. Analysts working
in JupyterLab see full values; only these functions' outputs are published.
"""
from __future__ import annotations

import base64
import html
import io
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.paths import DATA_DIR
from d8lib.standards import SHOWN as SHOWN_FLAGS

MIN_COUNT = 5
WITHHELD = "x"
# Okabe and Ito's palette, safe for colour-blind readers.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]


@lru_cache(maxsize=1)
def _labels() -> dict:
    return yaml.load((DATA_DIR / "labels.yaml").read_text(encoding="utf-8"),
                     Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def label(key: str, lang: str = "vi") -> str:
    """The reader's label for a dotted key of ``data/labels.yaml``."""
    node = _labels()
    for part in key.split("."):
        node = node[part]
    return node[lang]


def unit_name(name: str, lang: str = "vi") -> str:
    """A unit's name for the reader: "Huyện Mỹ Đức" in Vietnamese, "Mỹ Đức district" in English."""
    if lang == "vi":
        return name
    for prefix, suffix in _labels()["unit_prefixes"]:
        if name.startswith(prefix):
            return name[len(prefix):] + suffix
    return name


def plan_reference(text: str, lang: str = "vi") -> str:
    """A place in the plan ("Phụ lục 01, dòng 3") as the reader's language says it."""
    if lang == "vi":
        return text
    for vi, en in sorted(_labels()["source_terms"], key=lambda pair: -len(pair[0])):
        text = text.replace(vi, en)
    return text


def has_label(key: str) -> bool:
    node = _labels()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# --- disclosure control -----------------------------------------------------------------


def protect_counts(table: pd.DataFrame, columns: list[str], row_total: str | None = None,
                   column_totals: bool = False, threshold: int = MIN_COUNT) -> pd.DataFrame:
    """Withhold small counts of people and their complements.

    ``columns`` are counts that add up to ``row_total`` (published) along each row;
    with ``column_totals`` each column's total is published too. Primary cells hold
    1 to ``threshold`` - 1 people; wherever a row or a column with a published total
    has exactly one withheld cell, its smallest other positive cell is withheld too,
    until no withheld value can be worked out by subtraction. Returns the table with
    withheld cells as NaN; ``mask`` in ``attrs`` marks them.
    """
    values = table[columns].astype(float)
    mask = (values > 0) & (values < threshold)
    if row_total is not None:
        total = table[row_total].astype(float)
        mask_total = (total > 0) & (total < threshold)
    changed = True
    while changed:
        changed = False
        lines = [("row", i) for i in values.index] if row_total is not None else []
        lines += [("column", c) for c in columns] if column_totals else []
        for kind, key in lines:
            cells = mask.loc[key] if kind == "row" else mask[key]
            if cells.sum() != 1:
                continue
            candidates = (values.loc[key] if kind == "row" else values[key]).where(~cells)
            candidates = candidates[candidates > 0]
            if candidates.empty:
                continue
            target = candidates.idxmin()
            if kind == "row":
                mask.loc[key, target] = True
            else:
                mask.loc[target, key] = True
            changed = True
    protected = table.copy()
    for column in columns:
        protected[column] = table[column].astype(float).where(~mask[column])
    if row_total is not None:
        protected[row_total] = table[row_total].astype(float).where(~mask_total)
        mask[row_total] = mask_total
    protected.attrs["mask"] = mask
    return protected


def hide_withheld(table: pd.DataFrame, n: str = "n", columns: tuple = ("estimate", "ci_low", "ci_high")) -> pd.DataFrame:
    """Blank the figures of rows that the presentation standard withholds (``flag``
    "suppress" or "unavailable"), and withhold respondent counts below ``MIN_COUNT``."""
    shown = table.copy()
    withheld = ~shown.flag.isin(SHOWN_FLAGS)
    for column in columns:
        if column in shown:
            shown[column] = shown[column].astype(float).where(~withheld)
    if n in shown:
        shown[n] = shown[n].astype(float).where(shown[n] >= MIN_COUNT)
    return shown


# --- formatting ----------------------------------------------------------------------------


def fmt(value, digits: int = 0, lang: str = "vi") -> str:
    """A number for reading: 1 234,5 in Vietnamese, 1,234.5 in English; withheld as x.
    ``digits`` < 0 shows up to that many decimals, none for a whole number."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return WITHHELD
    if isinstance(value, str):
        return value
    if digits < 0:
        digits = 0 if float(value).is_integer() else -digits
    text = f"{float(value):,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",") if lang == "vi" else text


def table_html(frame: pd.DataFrame, table_id: str, caption: str = "", numeric: set[str] | frozenset = frozenset()
               ) -> str:
    """A table of already formatted text as HTML; the id names its Excel sheet and the
    ``numeric`` columns are set right-aligned."""
    def cls(column) -> str:
        return " class='num'" if column in numeric else ""

    head = "".join(f"<th scope='col'{cls(c)}>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td{cls(c)}>{html.escape(str(v))}</td>" for c, v in zip(frame.columns, row))
                   + "</tr>" for row in frame.itertuples(index=False))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='d8-table' id='{html.escape(table_id)}'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_html(figure, alt: str, caption: str = "") -> str:
    """A matplotlib figure as an embedded PNG with alternative text; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f"<figure class='d8-figure'><img src='data:image/png;base64,{data}' alt='{html.escape(alt, quote=True)}'>"
            f"{cap}</figure>")


# --- Excel -------------------------------------------------------------------------------


def write_excel(tables: dict[str, pd.DataFrame], path: str | Path, note: str = "") -> Path:
    """One sheet per table, headers as the report shows them, numbers as numbers,
    withheld cells as ``x`` and text never a formula."""
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
        if note:
            sheet.append([])
            sheet.append([note])
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

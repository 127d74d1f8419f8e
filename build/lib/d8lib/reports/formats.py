"""How figures are written for readers: numbers in Vietnamese or English, the symbols
of a withheld or an absent figure, tables and charts as self-contained HTML."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

WITHHELD = "x"  # a figure not shown, to protect people or by the presentation standard
NONE = "–"  # a figure that does not exist or does not apply
# Okabe and Ito's palette, safe for colour-blind readers.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]


_VIETNAMESE_DIGITS = str.maketrans({",": ".", ".": ","})  # 1,234.5 written 1.234,5


def fmt(value, digits: int = 0, lang: str = "vi") -> str:
    """A number for reading: 1.234,5 in Vietnamese, 1,234.5 in English; withheld as x.
    ``digits`` < 0 shows up to that many decimals, none for a whole number."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return WITHHELD
    if isinstance(value, str):
        return value
    if digits < 0:
        digits = 0 if float(value).is_integer() else -digits
    text = f"{float(value):,.{digits}f}"
    return text.translate(_VIETNAMESE_DIGITS) if lang == "vi" else text


def table_html(
    frame: pd.DataFrame, table_id: str, caption: str = "", numeric: set[str] | frozenset = frozenset()
) -> str:
    """A table of already formatted text as HTML; the id names its Excel sheet and the
    ``numeric`` columns are set right-aligned."""

    def cls(column) -> str:
        return " class='num'" if column in numeric else ""

    head = "".join(f"<th scope='col'{cls(c)}>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td{cls(c)}>{html.escape(str(v))}</td>" for c, v in zip(frame.columns, row)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='d8-table' id='{html.escape(table_id)}'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_html(figure, alt: str, caption: str = "") -> str:
    """A matplotlib figure as an embedded SVG image (crisp at any size, its text scaling
    with the page) with alternative text and a caption above it; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    with plt.rc_context({"svg.hashsalt": "d8", "svg.fonttype": "path"}):  # the same figure, the same bytes
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f"<figure class='d8-figure'>{cap}<img src='data:image/svg+xml;base64,{data}' "
        f"alt='{html.escape(alt, quote=True)}'></figure>"
    )

"""The thin layer that shows sections in a notebook (and so in its HTML page) and keeps
their tables for the report's Excel twin."""

from __future__ import annotations

import html
import sys
import warnings

import numpy as np
import pandas as pd

from d8lib.core import labels
from d8lib.reports import disclosure, excel, formats
from d8lib.reports.formats import NONE
from d8lib.reports.sections import Section


def _show(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


def _to_log(message, category, filename, lineno, file=None, line=None) -> None:
    """A library's warning goes to the kernel's own stderr (a run's ``kernels.log``),
    never into the page a reader gets."""
    sys.__stderr__.write(warnings.formatwarning(message, category, filename, lineno, line))


class Page:
    """One report as it is shown: ``show`` each section in turn, then ``save_excel``."""

    def __init__(self, lang: str = "vi"):
        self.lang = lang
        self.excel: dict[str, pd.DataFrame] = {}
        self.excel_notes: dict[str, list[str]] = {}  # the notes shown right under each table
        self._table_above = ""  # the table the notes being shown stand under
        warnings.showwarning = _to_log

    def show(self, section: Section) -> Section:
        """Show a section's heading and parts; returns the section (its tables and figures
        stay at hand in the notebook)."""
        if section.heading:
            self._heading(section.heading, 2)
        for kind, *rest in section.parts:
            if kind == "note" and self._table_above:  # a note under a table goes under its Excel twin too
                self.excel_notes.setdefault(self._table_above, []).append(rest[0])
            getattr(self, f"_{kind}")(*rest)
            self._table_above = rest[0] if kind == "table" else self._table_above if kind == "note" else ""
        return section

    def save_excel(self, path: str) -> None:
        """Write the Excel twin of every table shown (nothing when ``path`` is empty)."""
        if path:
            note = disclosure.suppression_note(self.lang)
            excel.write_excel(self.excel, path, note=note, notes=self.excel_notes)

    def _heading(self, key: str, level: int) -> None:
        _show(f"<h{level}>{html.escape(labels.label(key, self.lang))}</h{level}>")

    def _title(self, title: str, subtitle: str, banner: str = "") -> None:
        """The report's title and subtitle; ``banner``: a plan's warning that it is an illustration."""
        shown = f"<p class='d8-illustration' role='note'>{html.escape(banner)}</p>" if banner else ""
        _show(
            f"<header class='d8-header'><h1>{html.escape(title)}</h1>"
            f"<p class='d8-subtitle'>{html.escape(subtitle)}</p>{shown}</header>"
        )

    def _list(self, list_id: str, items: list[str]) -> None:
        entries = "".join(f"<li>{html.escape(s)}</li>" for s in items)
        _show(f"<ul class='d8-findings' id='{html.escape(list_id)}'>{entries}</ul>")

    def _paragraph(self, text: str) -> None:
        _show(f"<p>{html.escape(text)}</p>")

    def _note(self, text: str) -> None:
        _show(f"<p class='d8-note'>{html.escape(text)}</p>")

    def _figure(self, figure, alt_key: str) -> None:
        """A chart; nothing where there was nothing to draw (None)."""
        if figure is not None:
            text = labels.label(alt_key, self.lang)  # said to every reader, above the chart
            _show(formats.figure_html(figure, text, caption=text))

    def _table(self, name: str, frame: pd.DataFrame, digits: dict[str, int]) -> None:
        """A published table, numbers rounded as shown, kept for the Excel twin; a table
        without rows is said in a sentence, in the page and out of the twin."""
        if frame.empty:
            self._note(labels.label("notes.nothing_to_show", self.lang))
            return
        values = frame.copy()
        for column, d in digits.items():
            empty = values[column].map(lambda v: isinstance(v, str) and not v)  # no figure applies: not withheld
            number = pd.to_numeric(values[column].where(~empty), errors="coerce").round(abs(d))
            values[column] = number.astype(object).where(~empty, "") if empty.any() else number
        self.excel[name] = values
        shown = values.copy()
        for column in shown.columns:
            if column in digits:  # "x": withheld; "–": no such figure
                shown[column] = [formats.fmt(v, digits[column], self.lang) if v != "" else NONE for v in values[column]]
            else:
                shown[column] = [
                    "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values[column]
                ]
        cue = html.escape(labels.label("notes.scroll", self.lang))
        table = formats.table_html(shown, name, numeric=set(digits))
        _show(f"<p class='d8-scroll-cue' aria-hidden='true'>{cue}</p><div class='d8-scroll'>{table}</div>")

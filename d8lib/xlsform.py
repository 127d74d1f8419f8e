"""XLSForm questionnaires (KoboToolbox, ODK): the questions of the ``survey`` sheet
with their groups, repeats, types and labels, and the ``choices`` of each list.

``read_form(path)`` returns a ``Form``; ``Form.lookup()`` maps every way an export
may head a question's column (its name, its group path joined by "/" or "-", its
label in any language) onto the question's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from d8lib.codebook import CodebookError, normalise

STRUCTURE = {
    "begin group",
    "begin_group",
    "begin repeat",
    "begin_repeat",
    "end group",
    "end_group",
    "end repeat",
    "end_repeat",
}
NO_DATA = {"note", "start", "end", "today", "deviceid", "username", "audit", "begin"}


@dataclass
class Question:
    name: str
    type: str  # integer, decimal, text, select_one, select_multiple, calculate, date, ...
    path: tuple  # enclosing group and repeat names
    repeat: str | None  # innermost repeat, or None for the main table
    list_name: str | None = None
    labels: dict = field(default_factory=dict)  # language -> label
    relevant: str = ""


@dataclass
class Form:
    path: Path
    questions: dict  # name -> Question
    choices: dict  # list name -> [{"name": ..., "labels": {language: label}}]
    repeats: list  # repeat names, outermost first

    def lookup(self) -> dict:
        """Every header an export may use for a question, normalised, -> the question's name."""
        keys = {}
        for q in self.questions.values():
            for separator in ("/", "-"):
                keys[normalise(separator.join((*q.path, q.name)))] = q.name
            for label in q.labels.values():
                keys.setdefault(normalise(label), q.name)
            keys[normalise(q.name)] = q.name
        return keys

    def choice_values(self, question: str) -> dict:
        """A select question's choices: every name and label, normalised, -> the choice's name."""
        values = {}
        for choice in self.choices.get(self.questions[question].list_name, []):
            values[normalise(choice["name"])] = choice["name"]
            for label in choice["labels"].values():
                values.setdefault(normalise(label), choice["name"])
        return values


def _labels(row: pd.Series, columns: list[str]) -> dict:
    """Labels of a row by language: "label" is "default"; "label::English (en)" is "English (en)"."""
    return {
        (c.split("::", 1)[1] if "::" in c else "default"): str(row[c])
        for c in columns
        if isinstance(row[c], str) and row[c].strip()
    }


def read_form(path: str | Path) -> Form:
    """Read an XLSForm's survey and choices sheets."""
    path = Path(path)
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # a form that is not a workbook, or a damaged one
        raise CodebookError(f"Không đọc được biểu mẫu {path.name}", f"Cannot read the form {path.name}: {exc}") from exc
    sheets = {name.strip().lower(): frame for name, frame in sheets.items()}
    if "survey" not in sheets:
        raise CodebookError(f"{path.name}: không có trang «survey»", f"{path.name}: the form has no 'survey' sheet")
    survey = sheets["survey"].rename(columns=lambda c: str(c).strip())
    for column in ("type", "name"):
        if column not in survey:
            raise CodebookError(
                f"{path.name}, trang survey: thiếu cột «{column}»",
                f"{path.name}, sheet survey: missing column '{column}'",
            )
    label_columns = [c for c in survey.columns if c == "label" or c.startswith("label::")]
    questions, stack, repeats = {}, [], []
    for index, row in survey.iterrows():
        kind = " ".join(str(row["type"]).split()) if isinstance(row["type"], str) else ""
        name = str(row["name"]).strip() if isinstance(row["name"], str) else ""
        if not kind:
            continue
        if kind.startswith("begin"):
            stack.append((name, "repeat" in kind))
            if "repeat" in kind:
                repeats.append(name)
            continue
        if kind.startswith("end"):
            if not stack:
                raise CodebookError(
                    f"{path.name}, trang survey, dòng {index + 2}: «{kind}» không có «begin»",
                    f"{path.name}, sheet survey, row {index + 2}: '{kind}' without a matching begin",
                )
            stack.pop()
            continue
        base, _, list_name = kind.partition(" ")
        if base in NO_DATA or not name:
            continue
        enclosing = [n for n, is_repeat in stack if is_repeat]
        if len(enclosing) > 1:
            raise CodebookError(
                f"{path.name}: nhóm lặp lồng nhau ({' / '.join(enclosing)}) chưa được hỗ trợ",
                f"{path.name}: nested repeat groups are not supported ({' / '.join(enclosing)})",
            )
        questions[name] = Question(
            name,
            base,
            tuple(n for n, _ in stack),
            enclosing[-1] if enclosing else None,
            list_name.split(" ")[0] or None,
            _labels(row, label_columns),
            str(row.get("relevant", "") if isinstance(row.get("relevant"), str) else ""),
        )
    if stack:
        raise CodebookError(
            f"{path.name}: nhóm «{stack[-1][0]}» không có «end»", f"{path.name}: group '{stack[-1][0]}' is never ended"
        )
    choices: dict = {}
    if "choices" in sheets:
        table = sheets["choices"].rename(columns=lambda c: str(c).strip())
        choice_labels = [c for c in table.columns if c == "label" or c.startswith("label::")]
        for _, row in table.dropna(subset=["list_name", "name"]).iterrows():
            choices.setdefault(str(row["list_name"]).strip(), []).append(
                {"name": str(row["name"]).strip(), "labels": _labels(row, choice_labels)}
            )
    return Form(path, questions, choices, repeats)


def relevant_expression(text: str) -> str | None:
    """A simple XLSForm ``relevant`` (comparisons of questions with values, joined by
    ``and`` / ``or``) as a pandas expression over question names; None for anything
    else, which is then not checked."""
    if not text.strip() or re.search(r"\w+\s*\(", text):
        return None
    expression = re.sub(r"\$\{(\w+)\}", r"`\1`", text)
    expression = re.sub(r"'(-?\d+(?:\.\d+)?)'", r"\1", expression)  # '1' compares as the number 1
    expression = re.sub(r"(?<![<>!=])=(?!=)", "==", expression)
    return None if "$" in expression else expression

"""XLSForm questionnaires (KoboToolbox, ODK) read as the specification allows.

``read_form(path)`` reads an XLSForm in any of the files pyxform reads (.xlsx, .xls,
.csv) through pyxform's own file readers and header rules: headers in any case, their
aliases ("list name", "relevance", "caption", ...), languages as ``label::English (en)``
or ``label:English``, every text kept as written ("NA" is a choice, not a gap). d8
then walks the survey sheet itself, leniently: every type pyxform knows (metadata
such as ``start`` and ``end`` included), ``begin group`` / ``begin_group`` /
``begin repeat`` in any spelling, groups and repeats nested to any depth. A question
is known by its name, or by its path where two share a name (``women/age``,
``children/age``); its ``relevant`` holds the skip logic of every enclosing group
and its own, each with the names it refers to resolved to questions.

``Form.headers(keys)`` maps every way an export may head those questions' columns
(their name, the path of names or of labels in any language joined by any of
``SEPARATORS``, the label alone where no other question has it, and for a
select_multiple each choice's own column) onto the question, or ``question/choice``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pyxform import aliases
from pyxform.errors import PyXFormError
from pyxform.parsing.sheet_headers import dealias_and_group_headers
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.xls2json import RE_BEGIN_CONTROL, RE_END_CONTROL, RE_SELECT
from pyxform.xls2json_backends import get_xlsform

from d8lib.core.skiplogic import Unsupported, parse, references
from d8lib.intake import bounds
from d8lib.survey.io.codebook import CodebookError, normalise

SEPARATORS = ("/", "-", ".", ":")
FORM_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
# Types whose answers can identify a person: never read, always listed under `personal`.
IDENTIFYING_BINDS = {"geopoint", "geotrace", "geoshape", "binary", "barcode"}
IDENTIFYING_TYPES = {
    "email",
    "username",
    "deviceid",
    "device id",
    "imei",
    "phonenumber",
    "phone number",
    "simserial",
    "sim id",
    "subscriberid",
    "subscriber id",
    "audit",
}
NO_ANSWER = {"note", "trigger", "acknowledge", "xml-external", "csv-external"}
SELECTS = {"select one": "select_one", "select all that apply": "select_multiple", "rank": "rank"}
SURVEY_COLUMNS = {"type", "name", "label", "bind", "control", "hint", "media", "appearance"}
CHOICE_COLUMNS = {"list name", "name", "label", "media"}


@dataclass
class Question:
    name: str
    key: str  # the name, or the path of names where another question has the same name
    type: str  # integer, decimal, text, select_one, select_multiple, calculate, date, start, geopoint, ...
    path: tuple  # enclosing group and repeat names, outermost first
    repeats: tuple  # ids of the enclosing repeats, outermost first
    list_name: str | None = None
    labels: dict = field(default_factory=dict)  # language -> label
    group_labels: tuple = ()  # for each enclosing group: language -> label
    relevant: tuple = ()  # (expression, {name in it: key}) of each enclosing group, then its own
    row: int = 0  # row of the survey sheet

    @property
    def repeat(self) -> str | None:
        """The innermost repeat, or None for a question of the main table."""
        return self.repeats[-1] if self.repeats else None

    @property
    def identifying(self) -> bool:
        bind = (QUESTION_TYPE_DICT.get(self.type) or {}).get("bind", {}).get("type")
        return self.type in IDENTIFYING_TYPES or self.type.startswith("uri:") or bind in IDENTIFYING_BINDS


@dataclass
class Form:
    path: Path
    questions: dict  # key -> Question
    choices: dict  # list name -> [{"name": ..., "labels": {language: label}}]
    repeats: list  # repeat ids in the order of the form: the name, "name~1" for a second of that name
    settings: dict = field(default_factory=dict)

    @property
    def form_id(self) -> str:
        return self.settings.get("form_id") or self.path.stem

    def named(self, name: str) -> list[Question]:
        """The questions of a name (more than one where repeats share it)."""
        return [q for q in self.questions.values() if q.name == name]

    def choice_values(self, key: str) -> dict:
        """A select question's choices: every name and label, normalised, -> the choice's name."""
        values = {}
        for choice in self.choices.get(self.questions[key].list_name, []):
            values[normalise(choice["name"])] = choice["name"]
            for label in choice["labels"].values():
                values.setdefault(normalise(label), choice["name"])
        return values

    def _spellings(self, question: Question) -> tuple[set, set]:
        """How an export may head a question: by names (unique to it) and by labels."""
        paths = [question.path]
        if question.repeats:  # ODK writes a repeat's columns from the repeat, with or without the groups between
            start = len(question.path) - question.path[::-1].index(question.repeat.split("~")[0]) - 1
            paths += [question.path[start:], question.path[start : start + 1], question.path[start + 1 :]]
        names = {normalise(s.join((*path, question.name))) for s in SEPARATORS for path in paths}
        if len(self.named(question.name)) == 1:
            names.add(normalise(question.name))
        labels = set(normalise(label) for label in question.labels.values())
        for language in self.languages:  # a group or question without a label there: its name
            label = question.labels.get(language) or question.labels.get("default") or question.name
            groups = [g.get(language) or g.get("default") or n for g, n in zip(question.group_labels, question.path)]
            labels |= {normalise(s.join((*groups, label))) for s in SEPARATORS}
        return names, labels

    @cached_property
    def languages(self) -> set:
        """The languages of the form's labels ("default" for a plain "label" column)."""
        return {
            language for q in self.questions.values() for labels in (q.labels, *q.group_labels) for language in labels
        }

    def headers(self, keys) -> dict:
        """Every header an export may give these questions, normalised -> key (or
        ``key/choice`` for a select_multiple choice's column); a label two questions
        share is left out."""
        by_name, by_label, ambiguous = {}, {}, set()
        for question in self.questions.values():
            names, labels = self._spellings(question)
            for text in labels:
                if by_label.setdefault(text, question.key) != question.key:
                    ambiguous.add(text)
            if question.key in keys:
                by_name.update(dict.fromkeys(names, question.key))
        found = {t: k for t, k in by_label.items() if k in keys and t not in ambiguous}
        found.update(by_name)
        for question in (self.questions[k] for k in keys if k in self.questions):
            if question.type != "select_multiple":
                continue
            heads = [t for t, k in found.items() if k == question.key]
            for choice in self.choices.get(question.list_name, []):
                for value in (choice["name"], *choice["labels"].values()):
                    for head in heads:
                        for separator in SEPARATORS:
                            found.setdefault(normalise(f"{head}{separator}{value}"), f"{question.key}/{choice['name']}")
        return found


def _error(path: Path, vi: str, en: str) -> CodebookError:
    return CodebookError(f"{path.name}: {vi}", f"{path.name}: {en}")


def _text(value) -> str:
    """A cell as text ("" for none, or for what a header split into parts)."""
    return value if isinstance(value, str) else "" if value is None or isinstance(value, dict) else str(value)


def _labels(value) -> dict:
    """Labels by language: a plain "label" column is "default"."""
    if isinstance(value, dict):
        return {language: text for language, text in value.items() if isinstance(text, str) and text.strip()}
    return {"default": value} if isinstance(value, str) and value.strip() else {}


def _sheet(path: Path, definition, sheet: str, aliases_of: dict, columns: set) -> list[dict]:
    """A sheet's rows with pyxform's names for their headers ("label" a dict by language)."""
    rows = getattr(definition, sheet) or []
    headers = getattr(definition, f"{sheet}_header") or []
    try:
        return dealias_and_group_headers(
            sheet_name=sheet, sheet_data=rows, sheet_header=headers, header_aliases=aliases_of, header_columns=columns
        ).data
    except (PyXFormError, TypeError, ValueError, AttributeError) as exc:  # pyxform's words say which header
        raise _error(path, f"trang {sheet}: tiêu đề cột không đọc được", f"sheet {sheet}: {exc}") from exc


def _read_definition(path: Path):
    if not path.is_file():
        raise CodebookError(f"Không có biểu mẫu {path}", f"No form at {path}")
    if path.suffix.lower() not in FORM_SUFFIXES:
        raise _error(
            path,
            "biểu mẫu phải là tệp .xlsx, .xls hoặc .csv theo chuẩn XLSForm",
            "an XLSForm must be an .xlsx, .xls or .csv file",
        )
    refusal = bounds.inspect(path, bounds.limits()["survey_form"])
    if refusal:
        raise _error(path, refusal.message_vi, refusal.message_en)
    try:
        definition = get_xlsform(path, file_type=path.suffix.lower())
    except Exception as exc:  # pyxform's readers raise what their libraries raise; its words say why
        raise _error(path, "không đọc được biểu mẫu", f"cannot read the form: {str(exc)[:300]}") from exc
    if not definition.survey:
        raise _error(path, "không có trang «survey»", "the form has no 'survey' sheet")
    return definition


def _type(text: str) -> tuple[str, str | None]:
    """A question's type and its list of choices."""
    select = RE_SELECT.search(text)
    if select:
        command = aliases.select[select.group("select_command")]
        return SELECTS.get(command, "select_one"), select.group("list_name")
    lowered = text.lower()
    known = QUESTION_TYPE_DICT.get(text) or QUESTION_TYPE_DICT.get(lowered) or {}
    bind = known.get("bind", {}).get("type")
    if bind in ("int", "decimal") and known.get("control"):
        return {"int": "integer", "decimal": "decimal"}[bind], None
    return (lowered if known else text), None


def read_form(path: str | Path) -> Form:
    """Read an XLSForm's survey, choices and settings."""
    path = Path(path)
    definition = _read_definition(path)
    survey = _sheet(path, definition, "survey", aliases.survey_header, SURVEY_COLUMNS)
    if survey and "type" not in {k for row in survey for k in row}:
        raise _error(path, "trang survey: thiếu cột «type»", "sheet survey: missing column 'type'")
    questions: list[Question] = []
    stack: list[tuple[str, str | None, dict, str]] = []  # (name, repeat id or None, labels, relevant)
    repeats: list[str] = []
    for number, row in enumerate(survey, start=2):
        kind = " ".join(_text(row.get("type")).split())
        name = _text(row.get("name")).strip()
        bind = row.get("bind")
        relevant = _text(bind.get("relevant") if isinstance(bind, dict) else "").strip()
        if not kind:
            continue
        begin, end = RE_BEGIN_CONTROL.search(kind.lower()), RE_END_CONTROL.search(kind.lower())
        if begin:
            name = name or f"row{number}"
            repeat = None
            if aliases.control[begin.group("type")] != "group":  # ODK Central's id of a second "r": "r~1"
                same = sum(r.split("~")[0] == name for r in repeats)
                repeat = f"{name}~{same}" if same else name
                repeats.append(repeat)
            stack.append((name, repeat, _labels(row.get("label")), relevant))
            continue
        if end:
            if not stack:
                raise _error(
                    path,
                    f"trang survey, dòng {number}: «{kind}» không có «begin»",
                    f"sheet survey, row {number}: '{kind}' without a matching begin",
                )
            stack.pop()
            continue
        base, list_name = _type(kind)
        if base in NO_ANSWER or base in aliases.settings_header or not name:
            continue
        questions.append(
            Question(
                name,
                name,
                base,
                tuple(n for n, _, _, _ in stack),
                tuple(r for _, r, _, _ in stack if r),
                list_name,
                _labels(row.get("label")),
                tuple(labels for _, _, labels, _ in stack),
                tuple(r for *_, r in stack if r) + ((relevant,) if relevant else ()),
                number,
            )
        )
    if stack:
        raise _error(path, f"nhóm «{stack[-1][0]}» không có «end»", f"group '{stack[-1][0]}' is never ended")
    keyed = _keys(questions)
    choices: dict = {}
    for row in _sheet(path, definition, "choices", aliases.list_header, CHOICE_COLUMNS):
        list_name, name = _text(row.get("list name")).strip(), _text(row.get("name")).strip()
        if list_name and name:
            choices.setdefault(list_name, []).append({"name": name, "labels": _labels(row.get("label"))})
    settings = {}
    for row in (definition.settings or [])[:1]:
        settings = {str(k).strip().lower(): str(v).strip() for k, v in row.items() if isinstance(v, str)}
    return Form(path, keyed, choices, repeats, settings)


def _keys(questions: list[Question]) -> dict:
    """Questions by key, and the names their skip logic refers to resolved to keys."""
    counts: dict = {}
    for q in questions:
        counts[q.name] = counts.get(q.name, 0) + 1
    for q in questions:
        if counts[q.name] > 1:
            q.key = "/".join((*q.path, q.name))
    by_name: dict = {}
    for q in questions:
        by_name.setdefault(q.name, []).append(q)

    def resolve(name: str, within: Question) -> str | None:
        same = by_name.get(name, [])
        if len(same) <= 1:
            return same[0].key if same else None

        def shared(other: Question) -> int:
            return next((i for i, (a, b) in enumerate(zip(other.path, within.path)) if a != b), len(other.path))

        return max(same, key=shared).key

    for q in questions:
        resolved = []
        for expression in q.relevant:
            try:
                names = references(parse(expression))
            except Unsupported:
                names = set()
            resolved.append((expression, {n: resolve(n, q) for n in names}))
        q.relevant = tuple(resolved)
    return {q.key: q for q in questions}

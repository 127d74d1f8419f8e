"""XLSForm skip logic (``relevant``) read by d8's own grammar and evaluated over columns.

Nothing of a form is ever executed: ``parse`` turns an expression into a tree of
tuples by the grammar below, refusing anything else, and ``evaluate`` walks that
tree over the columns of an export. The grammar is the part of ODK's XPath that
skip logic uses::

    expr    := or ; or := and ("or" and)* ; and := compare ("and" compare)*
    compare := sum (("=" | "!=" | "<" | "<=" | ">" | ">=") sum)*
    sum     := product (("+" | "-") product)* ; product := unary (("*" | "div" | "mod") unary)*
    unary   := "-" unary | number | 'string' | "string" | ${name} | "." | function "(" expr, ... ")" | "(" expr ")"

with the functions of ``FUNCTIONS``. Chains of operators are read and evaluated in loops,
so only brackets, calls and signs nest; an expression longer than ``MAX_LENGTH`` characters,
of more than ``MAX_TOKENS`` tokens or nested deeper than ``MAX_DEPTH`` is refused by
name (``Unsupported``), and so is any function or construct not listed.

d8's own rules (``outcomes.yaml``, ``rules/intake.yaml``) are read by the same grammar
(``rule``), a bare name there standing for the column of that name.

Values follow XPath 1.0 as ODK Collect records answers: an unanswered question is the
empty string, text compares as text, numbers as numbers, ``<`` and ``>`` compare
numbers. One leniency: two texts that both read as numbers are also equal when their
numbers are (an export may write the answer ``1`` as ``1.0``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

MAX_LENGTH = 4000
MAX_TOKENS = 1000
MAX_DEPTH = 32

TOKEN = re.compile(
    r"""\s*(?:
      (?P<ref>\$\{[^{}\s]{1,200}\})
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>!=|<=|>=|==|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<name>[A-Za-z_][\w.:-]{0,100})
    | (?P<dot>\.)
    )""",
    re.VERBOSE,
)
WORD_OPERATORS = {"and", "or", "div", "mod"}
COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}


class Unsupported(ValueError):
    """An expression d8 does not evaluate, with the reason in both languages."""

    def __init__(self, vi: str, en: str):
        super().__init__(f"{vi} / {en}")
        self.vi, self.en = vi, en


def _tokens(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_LENGTH:
        raise Unsupported(f"dài hơn {MAX_LENGTH} ký tự", f"longer than {MAX_LENGTH} characters")
    tokens, position, end = [], 0, len(text.rstrip())
    while position < end:
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise Unsupported(
                f"ký tự không đọc được «{text[position : position + 10]}»",
                f"cannot read '{text[position : position + 10]}'",
            )
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "name" and value in WORD_OPERATORS:
            kind = "op"
        if value == "==":
            value = "="
        tokens.append((kind, value))
        if len(tokens) > MAX_TOKENS:
            raise Unsupported(f"nhiều hơn {MAX_TOKENS} thành phần", f"more than {MAX_TOKENS} tokens")
        position = match.end()
    if not tokens:
        raise Unsupported("biểu thức rỗng", "empty expression")
    return tokens


class _Parser:
    """Recursive descent over the tokens, loops for chains, depth bounded."""

    LEVELS = [{"or"}, {"and"}, COMPARISONS, {"+", "-"}, {"*", "div", "mod"}]

    def __init__(self, tokens: list[tuple[str, str]], bare_names: bool):
        self.tokens, self.at, self.depth, self.bare_names = tokens, 0, 0, bare_names

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token != ("op", value)):
            if value:
                raise Unsupported(f"thiếu «{value}»", f"expected '{value}'")
            raise Unsupported("thiếu một giá trị ở cuối", "a value is missing at the end")
        self.at += 1
        return token

    def nest(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unsupported(f"lồng sâu hơn {MAX_DEPTH} mức", f"nested deeper than {MAX_DEPTH} levels")

    def expression(self, level: int = 0):
        if level == len(self.LEVELS):
            return self.unary()
        first, rest = self.expression(level + 1), []
        while (token := self.peek()) is not None and token[0] == "op" and token[1] in self.LEVELS[level]:
            self.at += 1
            rest.append((token[1], self.expression(level + 1)))
        return ("chain", first, tuple(rest)) if rest else first

    def unary(self):
        kind, value = self.take()
        if (kind, value) == ("op", "-"):
            self.nest()
            tree = ("neg", self.unary())
            self.depth -= 1
            return tree
        if kind == "number":
            return ("number", float(value))
        if kind == "string":
            return ("string", value[1:-1])
        if kind == "ref":
            return ("ref", value[2:-1])
        if kind == "dot":
            return ("self",)
        if (kind, value) == ("op", "("):
            self.nest()
            tree = self.expression()
            self.take(")")
            self.depth -= 1
            return tree
        if kind == "name" and self.peek() == ("op", "("):
            if value not in FUNCTIONS:
                raise Unsupported(f"hàm «{value}()» chưa được hỗ trợ", f"the function '{value}()' is not supported")
            self.at += 1
            self.nest()
            arguments = []
            if self.peek() != ("op", ")"):
                arguments.append(self.expression())
                while self.peek() == ("op", ","):
                    self.at += 1
                    arguments.append(self.expression())
            self.take(")")
            self.depth -= 1
            low, high = FUNCTIONS[value][0]
            if not low <= len(arguments) <= high:
                raise Unsupported(
                    f"hàm «{value}()» nhận {low}-{high} đối số", f"'{value}()' takes {low} to {high} arguments"
                )
            return ("call", value, tuple(arguments))
        if kind == "name" and self.bare_names:
            return ("ref", value)
        raise Unsupported(f"không đọc được «{value}»", f"cannot read '{value}'")


def parse(text: str, bare_names: bool = False):
    """The tree of a ``relevant`` expression (with ``bare_names``, of one of d8's own
    rules, where ``age`` stands for ``${age}``); raises ``Unsupported`` for anything else."""
    parser = _Parser(_tokens(text), bare_names)
    tree = parser.expression()
    if parser.peek() is not None:
        raise Unsupported(f"thừa «{parser.peek()[1]}»", f"unexpected '{parser.peek()[1]}'")
    return tree


def references(tree) -> set[str]:
    """The question names an expression refers to (``${name}``)."""
    found, stack = set(), [tree]
    while stack:
        node = stack.pop()
        if node[0] == "ref":
            found.add(node[1])
        elif node[0] == "chain":
            stack += [node[1], *(operand for _, operand in node[2])]
        elif node[0] == "neg":
            stack.append(node[1])
        elif node[0] == "call":
            stack += list(node[2])
    return found


# Values are Series of one kind: "text" (str, "" when unanswered), "number" (float) or "bool".


def _text(value: tuple) -> pd.Series:
    kind, series = value
    if kind == "text":
        return series
    if kind == "bool":
        return series.map({True: "true", False: "false"})
    return series.map(lambda x: "NaN" if np.isnan(x) else (str(int(x)) if float(x).is_integer() else repr(float(x))))


def _number(value: tuple) -> pd.Series:
    kind, series = value
    if kind == "number":
        return series
    if kind == "bool":
        return series.astype(float)
    return pd.to_numeric(series.str.strip().replace("", "x"), errors="coerce").astype(float)


def _bool(value: tuple) -> pd.Series:
    kind, series = value
    if kind == "bool":
        return series
    if kind == "number":
        return series.notna() & (series != 0)
    return series.str.len() > 0


def _compare(operator: str, left: tuple, right: tuple) -> pd.Series:
    kinds = {left[0], right[0]}
    if operator in ("=", "!="):
        if "bool" in kinds:
            equal = _bool(left) == _bool(right)
        elif "number" in kinds:
            equal = _number(left) == _number(right)
        else:
            a, b = _number(left), _number(right)
            equal = (_text(left) == _text(right)) | (a.notna() & (a == b))
        return equal if operator == "=" else ~equal
    a, b = _number(left), _number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


class Columns:
    """The answers an expression reads from a frame: ``${name}`` is the column
    ``names.get(name, name)`` as text ("" when unanswered), a select_multiple's choices
    its ``column/choice`` columns of "1"/"0"; ``.`` is the column ``current``."""

    def __init__(self, frame: pd.DataFrame, current: str | None = None, names: dict | None = None):
        self.frame, self.current, self.names, self.read = frame, current, names or {}, {}

    def answers(self, name: str) -> pd.Series:
        name = self.names.get(name) or name
        if name not in self.frame:
            raise Unsupported(f"không có cột «{name}»", f"there is no column '{name}'")
        if name not in self.read:
            column = self.frame[name]
            self.read[name] = column.astype(object).where(column.notna(), "").astype(str)
        return self.read[name]

    def chosen(self, name: str, choice: str) -> pd.Series:
        column = f"{self.names.get(name) or name}/{choice}"
        if column in self.frame:
            return self.frame[column].astype(str).str.strip().isin(["1", "1.0", "true", "True"])
        return self.answers(name).str.split().map(lambda parts: choice in parts)

    def count(self, name: str) -> pd.Series:
        return self.answers(name).str.split().map(len).astype(float)


def _argument_ref(node, function: str) -> str:
    if node[0] == "ref":
        return node[1]
    raise Unsupported(
        f"«{function}()» chỉ đọc một câu hỏi ${{...}}", f"'{function}()' is read only for a question ${{...}}"
    )


def _literal(node) -> str:
    if node[0] == "string":
        return node[1]
    if node[0] == "number":
        return str(int(node[1])) if node[1].is_integer() else str(node[1])
    raise Unsupported("«selected()» cần một lựa chọn viết sẵn", "'selected()' needs a written choice")


def _constant(columns: Columns, kind: str, value) -> tuple:
    return kind, pd.Series(value, index=columns.frame.index, dtype=object if kind == "text" else None)


def _if(columns, arguments):
    condition = _bool(evaluate(arguments[0], columns))
    a, b = evaluate(arguments[1], columns), evaluate(arguments[2], columns)
    if a[0] == b[0]:
        return a[0], a[1].where(condition, b[1])
    return "text", _text(a).where(condition, _text(b))


def _coalesce(columns, arguments):
    a, b = _text(evaluate(arguments[0], columns)), _text(evaluate(arguments[1], columns))
    return "text", a.where(a != "", b)


# name -> ((fewest, most arguments), evaluation over the argument trees)
FUNCTIONS: dict[str, tuple[tuple[int, int], Callable]] = {
    "selected": ((2, 2), lambda c, a: ("bool", c.chosen(_argument_ref(a[0], "selected"), _literal(a[1])))),
    "count-selected": ((1, 1), lambda c, a: ("number", c.count(_argument_ref(a[0], "count-selected")))),
    "not": ((1, 1), lambda c, a: ("bool", ~_bool(evaluate(a[0], c)))),
    "true": ((0, 0), lambda c, a: _constant(c, "bool", True)),
    "false": ((0, 0), lambda c, a: _constant(c, "bool", False)),
    "boolean": ((1, 1), lambda c, a: ("bool", _bool(evaluate(a[0], c)))),
    "number": ((1, 1), lambda c, a: ("number", _number(evaluate(a[0], c)))),
    "int": ((1, 1), lambda c, a: ("number", np.trunc(_number(evaluate(a[0], c))))),
    "string": ((1, 1), lambda c, a: ("text", _text(evaluate(a[0], c)))),
    "string-length": ((1, 1), lambda c, a: ("number", _text(evaluate(a[0], c)).str.len().astype(float))),
    "contains": ((2, 2), lambda c, a: ("bool", _contains(_text(evaluate(a[0], c)), _text(evaluate(a[1], c))))),
    "starts-with": (
        (2, 2),
        lambda c, a: ("bool", _starts(_text(evaluate(a[0], c)), _text(evaluate(a[1], c)))),
    ),
    "if": ((3, 3), _if),
    "coalesce": ((2, 2), _coalesce),
}


def _contains(text: pd.Series, part: pd.Series) -> pd.Series:
    return pd.Series([b in a for a, b in zip(text, part)], index=text.index)


def _starts(text: pd.Series, part: pd.Series) -> pd.Series:
    return pd.Series([a.startswith(b) for a, b in zip(text, part)], index=text.index)


_ARITHMETIC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "div": lambda a, b: a / b.where(b != 0),
    "mod": lambda a, b: np.fmod(a, b.where(b != 0)),
}


def evaluate(tree, columns: Columns) -> tuple:
    """The value of a tree for every row: (kind, Series)."""
    node = tree[0]
    if node == "number":
        return _constant(columns, "number", tree[1])
    if node == "string":
        return _constant(columns, "text", tree[1])
    if node == "ref":
        return "text", columns.answers(tree[1])
    if node == "self":
        if columns.current is None:
            raise Unsupported("«.» không có câu hỏi hiện tại", "'.' has no current question here")
        return "text", columns.answers(columns.current)
    if node == "neg":
        return "number", -_number(evaluate(tree[1], columns))
    if node == "call":
        return FUNCTIONS[tree[1]][1](columns, tree[2])
    value = evaluate(tree[1], columns)
    for operator, operand in tree[2]:  # a chain of one level's operators, left to right
        right = evaluate(operand, columns)
        if operator == "and":
            value = "bool", _bool(value) & _bool(right)
        elif operator == "or":
            value = "bool", _bool(value) | _bool(right)
        elif operator in COMPARISONS:
            value = "bool", _compare(operator, value, right)
        else:
            with np.errstate(all="ignore"):
                value = "number", _ARITHMETIC[operator](_number(value), _number(right)).astype(float)
    return value


def holds(
    text: str, frame: pd.DataFrame, current: str | None = None, names: dict | None = None, bare_names: bool = False
) -> pd.Series:
    """Where an expression holds, row by row (for a ``relevant``: True where the
    question was asked); raises ``Unsupported`` for an expression d8 does not evaluate
    (see ``Columns``)."""
    tree = parse(text, bare_names)
    return _bool(evaluate(tree, Columns(frame, current, names))).fillna(False).astype(bool)


def rule(text: str, frame: pd.DataFrame) -> pd.Series:
    """Where one of d8's own rules holds (outcomes.yaml, rules/intake.yaml): the same
    grammar, a bare name standing for the column of that name."""
    return holds(text, frame, bare_names=True)

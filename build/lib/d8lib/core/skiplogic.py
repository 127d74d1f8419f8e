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
from functools import cached_property

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


class Value:
    """A value for every row: its XPath type ("text", "number" or "bool") and its data,
    a Series, or one scalar standing for every row (a literal); a column read as text
    keeps its numbers, so that comparing it with a number reads no text. Each
    conversion is computed once."""

    def __init__(self, kind: str, data, column: pd.Series | None = None):
        self.kind, self.data, self.column = kind, data, column

    @cached_property
    def text(self):
        if self.column is not None:
            return _column_text(self.column)
        if self.kind == "text":
            return self.data
        if self.kind == "bool":
            return self.data.map({True: "true", False: "false"}) if _many(self.data) else str(self.data).lower()
        return self.data.map(_number_text) if _many(self.data) else _number_text(self.data)

    @cached_property
    def number(self):
        if self.column is not None and _numeric(self.column):
            return self.column.astype(float)
        if self.kind == "number":
            return self.data
        if self.kind == "bool":
            return self.data.astype(float) if _many(self.data) else float(self.data)
        if _many(self.text):
            return pd.to_numeric(self.text.str.strip().replace("", "x"), errors="coerce").astype(float)
        try:
            return float(self.text.strip())
        except ValueError:
            return np.nan

    @cached_property
    def truth(self):
        if self.column is not None and _numeric(self.column):
            return self.column.notna()
        if self.kind == "bool":
            return self.data
        if self.kind == "number":
            return (self.data.notna() & (self.data != 0)) if _many(self.data) else bool(self.data == self.data != 0)
        return (self.text.str.len() > 0) if _many(self.text) else bool(self.text)


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _many(data) -> bool:
    return isinstance(data, pd.Series)


def _column_text(column: pd.Series) -> pd.Series:
    """A column's answers as text, "" where unanswered; numbers as XPath writes them."""
    if _numeric(column):
        values = column.astype(float)
        text = pd.Series("", index=column.index, dtype=object)
        whole = values.notna() & (values % 1 == 0)
        text[whole] = values[whole].astype(np.int64).astype(str)
        rest = values.notna() & ~whole
        text[rest] = values[rest].map(_number_text)
        return text
    text = column.astype(object).where(column.notna(), "")
    return text if pd.api.types.infer_dtype(text, skipna=False) == "string" else text.astype(str)


def _number_text(x: float) -> str:
    """A number as XPath writes it: 3, 2.5, NaN."""
    return "NaN" if x != x else str(int(x)) if float(x).is_integer() else repr(float(x))


def _no_number(value: Value) -> bool:
    """A literal that does not read as a number."""
    return value.column is None and not _many(value.data) and value.number != value.number


def _compare(operator: str, left: Value, right: Value):
    kinds = {left.kind, right.kind}
    if operator in ("=", "!="):
        if "bool" in kinds:
            equal = left.truth == right.truth
        elif "number" in kinds:
            equal = left.number == right.number
        else:
            equal = left.text == right.text
            if not (_no_number(left) or _no_number(right)):  # a literal that is no number: text alone
                a, b = left.number, right.number
                equal = equal | ((a == b) & pd.notna(a))
        return equal if operator == "=" else ~equal if _many(equal) else not equal
    a, b = left.number, right.number
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


class Columns:
    """The answers an expression reads from a frame: ``${name}`` is the column
    ``names.get(name, name)`` as text ("" when unanswered), a select_multiple's choices
    its ``column/choice`` columns of "1"/"0"; ``.`` is the column ``current``."""

    def __init__(self, frame: pd.DataFrame, current: str | None = None, names: dict | None = None):
        self.frame, self.current, self.names, self.read = frame, current, names or {}, {}

    def answers(self, name: str) -> Value:
        name = self.names.get(name) or name
        if name not in self.frame:
            raise Unsupported(f"không có cột «{name}»", f"there is no column '{name}'")
        if name not in self.read:
            self.read[name] = Value("text", None, self.frame[name])
        return self.read[name]

    def chosen(self, name: str, choice: str) -> pd.Series:
        column = f"{self.names.get(name) or name}/{choice}"
        if column in self.frame:
            return self.frame[column].astype(str).str.strip().isin(["1", "1.0", "true", "True"])
        return self.answers(name).text.str.split().map(lambda parts: choice in parts)

    def count(self, name: str) -> pd.Series:
        return self.answers(name).text.str.split().map(len).astype(float)

    def series(self, data) -> pd.Series:
        """A value for every row as a Series (a scalar repeated)."""
        return data if _many(data) else pd.Series(data, index=self.frame.index)


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


def _if(columns: Columns, arguments) -> Value:
    condition = columns.series(evaluate(arguments[0], columns).truth)
    a, b = evaluate(arguments[1], columns), evaluate(arguments[2], columns)
    kind = a.kind if a.kind == b.kind else "text"
    pick = (lambda v: v.data) if a.kind == b.kind and a.column is None and b.column is None else (lambda v: v.text)
    return Value(kind, columns.series(pick(a)).where(condition, columns.series(pick(b))))


def _coalesce(columns: Columns, arguments) -> Value:
    a, b = (columns.series(evaluate(x, columns).text) for x in arguments)
    return Value("text", a.where(a != "", b))


def _pairs(columns: Columns, arguments, test) -> Value:
    a, b = (columns.series(evaluate(x, columns).text) for x in arguments)
    return Value("bool", pd.Series([test(x, y) for x, y in zip(a, b)], index=a.index))


# name -> ((fewest, most arguments), evaluation over the argument trees)
FUNCTIONS: dict[str, tuple[tuple[int, int], Callable]] = {
    "selected": ((2, 2), lambda c, a: Value("bool", c.chosen(_argument_ref(a[0], "selected"), _literal(a[1])))),
    "count-selected": ((1, 1), lambda c, a: Value("number", c.count(_argument_ref(a[0], "count-selected")))),
    "not": ((1, 1), lambda c, a: Value("bool", _not(evaluate(a[0], c).truth))),
    "true": ((0, 0), lambda c, a: Value("bool", True)),
    "false": ((0, 0), lambda c, a: Value("bool", False)),
    "boolean": ((1, 1), lambda c, a: Value("bool", evaluate(a[0], c).truth)),
    "number": ((1, 1), lambda c, a: Value("number", evaluate(a[0], c).number)),
    "int": ((1, 1), lambda c, a: Value("number", np.trunc(evaluate(a[0], c).number))),
    "string": ((1, 1), lambda c, a: Value("text", evaluate(a[0], c).text)),
    "string-length": ((1, 1), lambda c, a: Value("number", c.series(evaluate(a[0], c).text).str.len().astype(float))),
    "contains": ((2, 2), lambda c, a: _pairs(c, a, lambda x, y: y in x)),
    "starts-with": ((2, 2), lambda c, a: _pairs(c, a, lambda x, y: x.startswith(y))),
    "if": ((3, 3), _if),
    "coalesce": ((2, 2), _coalesce),
}


def _not(truth):
    return ~truth if _many(truth) else not truth


def _nonzero(b):
    return b.where(b != 0) if _many(b) else (b if b != 0 else np.nan)


_ARITHMETIC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "div": lambda a, b: a / _nonzero(b),
    "mod": lambda a, b: np.fmod(a, _nonzero(b)),
}


def evaluate(tree, columns: Columns) -> Value:
    """The value of a tree for every row."""
    node = tree[0]
    if node == "number":
        return Value("number", tree[1])
    if node == "string":
        return Value("text", tree[1])
    if node == "ref":
        return columns.answers(tree[1])
    if node == "self":
        if columns.current is None:
            raise Unsupported("«.» không có câu hỏi hiện tại", "'.' has no current question here")
        return columns.answers(columns.current)
    if node == "neg":
        return Value("number", -evaluate(tree[1], columns).number)
    if node == "call":
        return FUNCTIONS[tree[1]][1](columns, tree[2])
    value = evaluate(tree[1], columns)
    for operator, operand in tree[2]:  # a chain of one level's operators, left to right
        right = evaluate(operand, columns)
        if operator == "and":
            value = Value("bool", value.truth & right.truth)
        elif operator == "or":
            value = Value("bool", value.truth | right.truth)
        elif operator in COMPARISONS:
            value = Value("bool", _compare(operator, value, right))
        else:
            with np.errstate(all="ignore"):
                value = Value("number", _ARITHMETIC[operator](value.number, right.number) * 1.0)
    return value


def holds(
    text: str, frame: pd.DataFrame, current: str | None = None, names: dict | None = None, bare_names: bool = False
) -> pd.Series:
    """Where an expression holds, row by row (for a ``relevant``: True where the
    question was asked); raises ``Unsupported`` for an expression d8 does not evaluate
    (see ``Columns``)."""
    columns = Columns(frame, current, names)
    truth = columns.series(evaluate(parse(text, bare_names), columns).truth)
    return truth.fillna(False).astype(bool)


def rule(text: str, frame: pd.DataFrame) -> pd.Series:
    """Where one of d8's own rules holds (outcomes.yaml, rules/intake.yaml): the same
    grammar, a bare name standing for the column of that name."""
    return holds(text, frame, bare_names=True)

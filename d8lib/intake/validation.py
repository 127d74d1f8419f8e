"""Validation of submitted rows against rules declared as data.

The rules live in ``data/rules/intake.yaml``; this module holds the small vocabulary
of checks they use (``CHECKS``) and the ``Problem`` every finding becomes. Each
problem names the file, the sheet, the row, the column and the value, in Vietnamese
and English.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core.paths import DATA_DIR
from d8lib.core.skiplogic import rule as rule_holds
from d8lib.plan.model import NUMBERS

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DEFAULT_RULES = DATA_DIR / "rules" / "intake.yaml"


@dataclass(frozen=True)
class Formula:
    """A spreadsheet cell that holds a formula but no computed value."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Problem:
    """One finding about a submission; ``severity`` is ``error`` or ``warning``."""

    file: str
    sheet: str
    row: int | None
    column: str
    value: str
    code: str
    severity: str
    message_vi: str
    message_en: str

    def __str__(self) -> str:
        where = " › ".join(
            str(p)
            for p in (
                self.file,
                self.sheet,
                f"dòng/row {self.row}" if self.row else "",
                f"cột/column {self.column}" if self.column else "",
            )
            if p
        )
        shown = f" [{self.value}]" if self.value != "" else ""
        label = "LỖI/ERROR" if self.severity == "error" else "CẢNH BÁO/WARNING"
        return f"{label} {where}{shown}: {self.message_vi} / {self.message_en}"


@lru_cache(maxsize=8)
def load_rules(path: str | Path | None = None) -> list[dict]:
    """The validation rules, in the order they are applied (read once per file)."""
    return yaml.load(Path(path or DEFAULT_RULES).read_text(encoding="utf-8"), Loader=SafeLoader)


def shown(value) -> str:
    """A value as a reader would type it: 12 rather than 12.0."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number_or_text(value):
    """A cell as ``pd.to_numeric`` should see it: a formula is blank, and a date, a time
    or TRUE/FALSE are text (not the numbers a spreadsheet stores them as), and so is a
    whole number past what a float holds (then not a number)."""
    if isinstance(value, Formula):
        return None
    if isinstance(value, (bool, np.bool_, dt.date, dt.time, dt.timedelta)):
        return str(value)
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        return str(value)
    return value


def numbers(rows: pd.DataFrame) -> pd.DataFrame:
    """The number columns converted to finite floats; text, formulas, blanks and
    infinities become NaN."""
    converted = {
        c: pd.to_numeric(pd.Series([_number_or_text(v) for v in rows[c].tolist()], dtype=object), errors="coerce")
        for c in NUMBERS
    }
    frame = pd.DataFrame({c: s.to_numpy(dtype=float, na_value=np.nan) for c, s in converted.items()}, index=rows.index)
    return frame.where(np.isfinite(frame))


# --- checks: each returns (failing mask, the limit each row was held to or None) -----------


@dataclass
class _Frame:
    """The rows under validation, with what every check needs computed once."""

    rows: pd.DataFrame
    numbers: pd.DataFrame
    blank: pd.DataFrame
    formula: pd.DataFrame
    context: dict


def _numeric(f: _Frame, column, rule):
    return ~f.blank[column] & ~f.formula[column] & f.numbers[column].isna(), None


def _no_formula(f: _Frame, column, rule):
    return f.formula[column], None


def _together(f: _Frame, column, rule):
    given = ~f.blank[rule["columns"]]
    return given.any(axis=1) & ~given.all(axis=1), None


def _required_with(f: _Frame, column, rule):
    return f.blank[column] & (~f.blank[rule["limit_columns"]]).any(axis=1), None


def _is_blank(values: pd.Series) -> pd.Series:
    return values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip())


def _required(f: _Frame, column, rule):
    return _is_blank(f.rows[column]), None


def _absent(f: _Frame, column, rule):
    return ~_is_blank(f.rows[column]), None


def _minimum(f: _Frame, column, rule):
    return f.numbers[column] < rule["limit"], pd.Series(float(rule["limit"]), index=f.rows.index)


def _maximum(f: _Frame, column, rule):
    return f.numbers[column] > rule["limit"], pd.Series(float(rule["limit"]), index=f.rows.index)


def _whole(f: _Frame, column, rule):
    values = f.numbers[column]
    return values.notna() & (values != np.floor(values)), None


def _not_above(f: _Frame, column, rule):
    limit = f.numbers[rule["limit_column"]]
    return f.numbers[column] > limit, limit


def _sum_equals(f: _Frame, column, rule):
    parts = f.numbers[rule["columns"]]
    total = f.numbers[rule["limit_column"]]
    complete = parts.notna().all(axis=1) & total.notna()
    return complete & (parts.sum(axis=1) != total), total


def _place(rows: pd.DataFrame) -> pd.DataFrame:
    """Where a row's figures are: its district and commune ("" for the whole district)."""
    return rows.assign(commune=rows.commune.fillna("") if "commune" in rows else "")


def _not_above_indicator(f: _Frame, column, rule):
    keys = ["district", "commune", "period"]
    rows = _place(f.rows)
    source = rows.loc[rows.indicator == rule["limit_indicator"], keys].assign(limit=f.numbers[rule["limit_column"]])
    limit = rows[keys].merge(source.drop_duplicates(keys), on=keys, how="left")["limit"].set_axis(f.rows.index)
    return f.numbers[column] > limit, limit


def _percent_matches(f: _Frame, column, rule):
    with np.errstate(divide="ignore", invalid="ignore"):
        computed = (100 * f.numbers.numerator / f.numbers.denominator).round(1)
    return (f.numbers[column] - computed).abs() > rule["tolerance"], computed


def _not_below_previous(f: _Frame, column, rule):
    order = {p: k for k, p in enumerate(f.context["periods"])}
    current = _place(f.rows)[["district", "commune", "indicator", "period"]].assign(value=f.numbers[column])
    previous = f.context["previous"]
    previous = previous[previous.district.isin(current.district.unique())]  # only these places' values count
    known = pd.concat([_place(previous), current], ignore_index=True).dropna(subset=["value"])
    # The highest value known per place, indicator and period: the pairs below are
    # then at most rows x periods, however many rows repeat the same indicator.
    known = (
        known.assign(position=known.period.map(order))
        .groupby(["district", "commune", "indicator", "position"], as_index=False)
        .value.max()
    )
    current = current.assign(position=current.period.map(order), row=np.arange(len(current)))
    pairs = current.merge(known, on=["district", "commune", "indicator"], suffixes=("", "_known"))
    earlier = pairs[pairs.position_known < pairs.position]
    best = earlier.groupby("row").value_known.max()
    limit = pd.Series(np.nan, index=f.rows.index)
    if len(best):
        limit.iloc[best.index.to_numpy()] = best.to_numpy()
    return f.numbers[column] < limit, limit


def _not_above_target(f: _Frame, column, rule):
    target = pd.to_numeric(f.rows["target"], errors="coerce")
    return f.numbers[column] > rule["factor"] * target, target


def _unique(f: _Frame, column, rule):
    keys = f.rows[rule["columns"]].map(shown).agg("|".join, axis=1)
    first_row = f.rows.row.groupby(keys).transform("first")
    return keys.duplicated(keep="first"), first_row


CHECKS = {
    "numeric": _numeric,
    "no_formula": _no_formula,
    "together": _together,
    "required_with": _required_with,
    "required": _required,
    "absent": _absent,
    "minimum": _minimum,
    "maximum": _maximum,
    "whole": _whole,
    "not_above": _not_above,
    "sum_equals": _sum_equals,
    "not_above_indicator": _not_above_indicator,
    "percent_matches": _percent_matches,
    "not_below_previous": _not_below_previous,
    "not_above_target": _not_above_target,
    "unique": _unique,
}
# Checks that look at a group of columns at once: one finding per row, under the first column.
_GROUP_CHECKS = {"sum_equals", "unique", "together"}


def _shown_value(f: _Frame, rule: dict, column: str, index) -> str:
    if rule["check"] == "sum_equals":
        return shown(f.numbers.loc[index, rule["columns"]].sum())
    if rule["check"] == "unique":
        return shown(f.rows.at[index, "indicator"])
    return shown(f.rows.at[index, column])


def validate(
    rows: pd.DataFrame, labels: dict[str, str], context: dict, rules: list[dict] | None = None
) -> list[Problem]:
    """Apply the rules to submitted rows.

    ``rows`` has the columns file, sheet, row, district, period, indicator, commune,
    the raw number columns, and the plan's measure, aggregation and target per row;
    ``labels`` names each column as the submitter sees it (a letter or a header);
    ``context`` holds ``periods`` (in order) and ``previous`` (accepted values:
    district, commune, period, indicator, value).
    """
    rules = load_rules() if rules is None else rules
    raw = rows[NUMBERS]
    frame = _Frame(
        rows=rows,
        numbers=numbers(rows),
        context=context,
        blank=raw.isna() | raw.map(lambda v: isinstance(v, str) and not v.strip()),
        formula=raw.map(lambda v: isinstance(v, Formula)),
    )
    scopes: dict[str, pd.Series] = {}
    problems: list[Problem] = []
    for rule in rules:
        when = rule.get("when")
        if when and when not in scopes:
            scopes[when] = rule_holds(when, rows)
        in_scope = scopes[when] if when else pd.Series(True, index=rows.index)
        if not in_scope.any():
            continue
        check = CHECKS[rule["check"]]
        for column in [rule["columns"][0]] if rule["check"] in _GROUP_CHECKS else rule["columns"]:
            failing, limit = check(frame, column, rule)
            failing = failing.fillna(False).astype(bool) & in_scope
            for index in rows.index[failing.to_numpy()]:
                value = _shown_value(frame, rule, column, index)
                limit_shown = shown(limit.at[index]) if limit is not None else ""
                problems.append(
                    Problem(
                        file=rows.at[index, "file"],
                        sheet=rows.at[index, "sheet"],
                        row=int(rows.at[index, "row"]),
                        column=labels.get(column, column),
                        value=value,
                        code=rule["code"],
                        severity=rule["severity"],
                        message_vi=rule["message_vi"].format(value=value, limit=limit_shown),
                        message_en=rule["message_en"].format(value=value, limit=limit_shown),
                    )
                )
    return problems

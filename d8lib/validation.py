"""Validation of submitted rows against rules declared as data.

The rules live in ``data/rules/intake.yaml``; this module holds the small vocabulary
of checks they use (``CHECKS``) and the ``Problem`` every finding becomes. Each
problem names the file, the sheet, the row, the column and the value, in Vietnamese
and English.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.paths import DATA_DIR

DEFAULT_RULES = DATA_DIR / "rules" / "intake.yaml"
NUMBER_COLUMNS = ["value", "numerator", "denominator", "people", "female", "male", "ethnic_minority"]


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
        where = " › ".join(str(p) for p in (self.file, self.sheet, f"dòng/row {self.row}" if self.row else "",
                                             f"cột/column {self.column}" if self.column else "") if p)
        shown = f" [{self.value}]" if self.value != "" else ""
        label = "LỖI/ERROR" if self.severity == "error" else "CẢNH BÁO/WARNING"
        return f"{label} {where}{shown}: {self.message_vi} / {self.message_en}"


def load_rules(path: str | Path | None = None) -> list[dict]:
    """The validation rules, in the order they are applied."""
    return yaml.safe_load(Path(path or DEFAULT_RULES).read_text(encoding="utf-8"))


def shown(value) -> str:
    """A value as a reader would type it: 12 rather than 12.0."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def numbers(rows: pd.DataFrame) -> pd.DataFrame:
    """The number columns converted to floats; text, formulas and blanks become NaN."""
    return pd.DataFrame({c: pd.to_numeric(rows[c].map(lambda v: None if isinstance(v, Formula) else v),
                                          errors="coerce").astype(float) for c in NUMBER_COLUMNS}, index=rows.index)


# --- checks: each returns (failing mask, the limit each failing row was held to) -------


def _numeric(rows, nums, column, rule, context):
    raw = rows[column]
    present = raw.map(lambda v: v is not None and not isinstance(v, Formula) and not (isinstance(v, str) and not v.strip())
                      and not (isinstance(v, float) and np.isnan(v)))
    return present & nums[column].isna(), None


def _no_formula(rows, nums, column, rule, context):
    return rows[column].map(lambda v: isinstance(v, Formula)), None


def _blank(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v is None or (isinstance(v, str) and not v.strip())
                      or (isinstance(v, float) and np.isnan(v)))


def _together(rows, nums, column, rule, context):
    given = ~pd.concat([_blank(rows[c]) for c in rule["columns"]], axis=1)
    return given.any(axis=1) & ~given.all(axis=1), None


def _required_with(rows, nums, column, rule, context):
    others = ~pd.concat([_blank(rows[c]) for c in rule["limit_columns"]], axis=1)
    return _blank(rows[column]) & others.any(axis=1), None


def _minimum(rows, nums, column, rule, context):
    return nums[column] < rule["limit"], pd.Series(rule["limit"], index=rows.index)


def _maximum(rows, nums, column, rule, context):
    return nums[column] > rule["limit"], pd.Series(rule["limit"], index=rows.index)


def _whole(rows, nums, column, rule, context):
    values = nums[column]
    return values.notna() & (values != np.floor(values)), None


def _not_above(rows, nums, column, rule, context):
    limit = nums[rule["limit_column"]]
    return nums[column] > limit, limit


def _sum_equals(rows, nums, column, rule, context):
    parts = nums[rule["columns"]]
    total = nums[rule["limit_column"]]
    complete = parts.notna().all(axis=1) & total.notna()
    return complete & (parts.sum(axis=1) != total), total


def _not_above_indicator(rows, nums, column, rule, context):
    keys = ["district", "period"]
    everything, all_numbers = context["rows"], context["numbers"]
    source = everything.loc[everything.indicator == rule["limit_indicator"], keys].assign(
        limit=all_numbers[rule["limit_column"]])
    limit = rows[keys].merge(source.drop_duplicates(keys), on=keys, how="left")["limit"].set_axis(rows.index)
    return nums[column] > limit, limit


def _percent_matches(rows, nums, column, rule, context):
    with np.errstate(divide="ignore", invalid="ignore"):
        computed = (100 * nums.numerator / nums.denominator).round(1)
    return (nums[column] - computed).abs() > rule["tolerance"], computed


def _not_below_previous(rows, nums, column, rule, context):
    order = {p: k for k, p in enumerate(context["periods"])}
    current = rows[["district", "indicator", "period"]].assign(value=nums[column], position=rows.period.map(order))
    earlier = pd.concat([context["previous"].assign(position=lambda d: d.period.map(order)), current],
                        ignore_index=True).dropna(subset=["value", "position"])
    limits = []
    for r in current.itertuples():
        before = earlier[(earlier.district == r.district) & (earlier.indicator == r.indicator)
                         & (earlier.position < r.position)]
        limits.append(before.value.max() if len(before) else np.nan)
    limit = pd.Series(limits, index=rows.index, dtype=float)
    return nums[column] < limit, limit


def _not_above_target(rows, nums, column, rule, context):
    target = pd.to_numeric(rows["target"], errors="coerce")
    return nums[column] > rule["factor"] * target, target


def _unique(rows, nums, column, rule, context):
    keys = rows[rule["columns"]].astype(str)
    duplicated = keys.duplicated(keep="first")
    first_row = rows.groupby(list(keys.T.values), sort=False)["row"].transform("first") if len(rows) else rows.row
    return duplicated, first_row


CHECKS = {
    "numeric": _numeric, "no_formula": _no_formula, "together": _together, "required_with": _required_with,
    "minimum": _minimum,
    "maximum": _maximum, "whole": _whole, "not_above": _not_above, "sum_equals": _sum_equals,
    "not_above_indicator": _not_above_indicator, "percent_matches": _percent_matches,
    "not_below_previous": _not_below_previous, "not_above_target": _not_above_target, "unique": _unique,
}
# Checks that look at a whole group of columns at once, not column by column.
_GROUP_CHECKS = {"sum_equals", "unique", "together"}


def validate(rows: pd.DataFrame, labels: dict[str, str], context: dict, rules: list[dict] | None = None
             ) -> list[Problem]:
    """Apply the rules to submitted rows.

    ``rows`` has the columns file, sheet, row, district, period, indicator, commune,
    the raw number columns, and the plan's measure, aggregation and target per row;
    ``labels`` names each column as the submitter sees it (a letter or a header);
    ``context`` holds ``periods`` (in order) and ``previous`` (accepted values:
    district, period, indicator, value).
    """
    rules = load_rules() if rules is None else rules
    problems: list[Problem] = []
    nums = numbers(rows)
    context = {**context, "rows": rows, "numbers": nums}
    for rule in rules:
        scope = rows.query(rule["when"]) if rule.get("when") else rows
        if scope.empty:
            continue
        check = CHECKS[rule["check"]]
        columns = [rule["columns"][0]] if rule["check"] in _GROUP_CHECKS else rule["columns"]
        for column in columns:
            failing, limit = check(scope, nums.loc[scope.index], column, rule, context)
            for index in failing[failing.fillna(False)].index:
                raw = (" + ".join(shown(rows.at[index, c]) for c in rule["columns"]) if rule["check"] == "sum_equals"
                       else rows.at[index, "indicator"] if rule["check"] == "unique" else rows.at[index, column])
                if rule["check"] == "sum_equals":
                    raw = shown(nums.loc[index, rule["columns"]].sum())
                limit_shown = shown(limit.at[index]) if limit is not None else ""
                problems.append(Problem(
                    file=rows.at[index, "file"], sheet=rows.at[index, "sheet"], row=int(rows.at[index, "row"]),
                    column=labels.get(column, column), value=shown(raw), code=rule["code"], severity=rule["severity"],
                    message_vi=rule["message_vi"].format(value=shown(raw), limit=limit_shown),
                    message_en=rule["message_en"].format(value=shown(raw), limit=limit_shown)))
    return problems

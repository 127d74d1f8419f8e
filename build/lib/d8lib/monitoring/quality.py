"""Data quality: outliers across districts and periods, and the open problems a report shows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from d8lib.monitoring.progress import rounds_due
from d8lib.plan.model import Plan

MODIFIED_Z_LIMIT = 3.5  # Iglewicz and Hoaglin's cut-off


def modified_z(values: pd.Series) -> pd.Series:
    """Modified z-scores, 0.6745 (x - median) / MAD; zero where the MAD is zero."""
    median = values.median()
    mad = (values - median).abs().median()
    if not mad or np.isnan(mad):
        return pd.Series(0.0, index=values.index)
    return 0.6745 * (values - median) / mad


def outliers(plan: Plan, values: pd.DataFrame) -> pd.DataFrame:
    """District values far from the other districts' of the same indicator and period.

    Values are compared as shares of each district's target, so that large and small
    districts are alike. Returns district, period, indicator, value, target, z.
    """
    targets = plan.targets[plan.targets.unit != plan.province].rename(columns={"unit": "district"})
    targets = targets[["indicator", "district", "target"]]
    rows = (
        values.groupby(["district", "period", "indicator"], as_index=False)
        .value.sum(min_count=1)
        .merge(targets, on=["indicator", "district"])
        .dropna(subset=["value"])
    )
    rows = rows[rows.target > 0]
    rows["z"] = rows.assign(share=rows.value / rows.target).groupby(["indicator", "period"]).share.transform(modified_z)
    return rows[rows.z.abs() > MODIFIED_Z_LIMIT].reset_index(drop=True)


def open_problems(
    plan: Plan, warnings: pd.DataFrame, completeness: pd.DataFrame, values: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """Problems still open as of a date: warnings on accepted files, missing reports,
    outliers, of the rounds due by then (a report as of a date shows nothing of a later
    period; a warning on a file as a whole has no period and stays).

    Returns kind (a code), district, period, indicator, and what a reader's sentence
    needs: file, message_vi and message_en (warnings), value and z (outliers).
    """
    due = set(rounds_due(plan, as_of).period)
    warnings = warnings[warnings.period.isna() | warnings.period.isin(due) | warnings.period.eq("")]
    missing = completeness[~completeness.received]
    far = outliers(plan, values[values.period.isin(due)])
    found = [
        pd.DataFrame(
            {
                "kind": "warning",
                "district": warnings.district.fillna(""),
                "period": warnings.period.fillna(""),
                "indicator": "",
                "file": warnings.file,
                "message_vi": warnings.message_vi,
                "message_en": warnings.message_en,
            }
        ),
        pd.DataFrame(
            {"kind": "missing_report", "district": missing.district, "period": missing.period, "indicator": ""}
        ),
        pd.DataFrame(
            {
                "kind": "outlier",
                "district": far.district,
                "period": far.period,
                "indicator": far.indicator,
                "value": far.value,
                "z": far.z,
            }
        ),
    ]
    columns = ["kind", "district", "period", "indicator", "file", "message_vi", "message_en", "value", "z"]
    return pd.concat(found, ignore_index=True).reindex(columns=columns)

"""Comparisons of survey rounds and groups of villages: changes between rounds and
differences in changes between project and comparison villages.

A difference in changes compares villages that were not assigned at random: it is a
"difference from comparison villages", not a proven effect. ``difference_in_differences``
pools all villages; ``within_difference_in_differences`` averages the differences
found inside each district that has both kinds of village, which compares like with
like; both carry a logit-scale version as a sensitivity check (a change from 50% to
40% and one from 15% to 5% are not alike on the logit scale).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from d8lib.survey.design import Design, t_test


def change(
    before: pd.DataFrame, after: pd.DataFrame, by: str | list[str] | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Change between two rounds drawn as independent samples, per domain.

    ``before`` and ``after`` are results of ``Design.mean`` (or ``total``/``ratio``)
    with the same ``by`` columns. The variance of the change is the sum of the two
    variances; degrees of freedom are the sum of the two domains' (the two samples
    are strata of one combined design). Returns the ``by`` columns, ``before``,
    ``after``, then estimate (after - before), se, ci_low, ci_high, df, p_value,
    unavailable.
    """
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    a = before[by + ["estimate", "se", "df"]]
    b = after[by + ["estimate", "se", "df"]]
    merged = (
        a.merge(b, on=by, suffixes=("_before", "_after"), how="inner")
        if by
        else pd.concat([a.add_suffix("_before"), b.add_suffix("_after")], axis=1)
    )
    rows = [
        t_test(
            r.estimate_after - r.estimate_before,
            float(np.hypot(r.se_before, r.se_after)),
            int(r.df_before + r.df_after),
            alpha,
        )
        for r in merged.itertuples()
    ]
    tests = pd.DataFrame(rows, index=merged.index)
    tests.loc[tests.se.isna(), "unavailable"] = "empty_cell"
    out = merged[by].copy()
    out["before"], out["after"] = merged.estimate_before, merged.estimate_after
    return pd.concat([out, tests], axis=1).reset_index(drop=True)


def _cell_keys(periods: tuple, groups: tuple) -> dict[tuple, tuple[str, float]]:
    """(group, period) of each of the four cells, with its name and its sign."""
    (p0, p1), (g1, g0) = periods, groups
    return {
        (g1, p0): ("treated_before", -1.0),
        (g1, p1): ("treated_after", 1.0),
        (g0, p0): ("comparison_before", 1.0),
        (g0, p1): ("comparison_after", -1.0),
    }


def _logit_coefficients(coefficients: dict, means: pd.Series) -> dict | None:
    """The delta-method coefficients of the same combination on the logit scale."""
    p = means.reindex(list(coefficients)).to_numpy(dtype=float)
    if not ((p > 0) & (p < 1)).all():
        return None
    return {k: c / (q * (1 - q)) for (k, c), q in zip(coefficients.items(), p)}


def _with_logit(
    design: Design, y: str, domain: list[str], combinations: list[dict], means: pd.Series, alpha: float, missing: str
) -> pd.DataFrame:
    """Each combination's test, and its logit-scale estimate, se and p-value."""
    tests = design.contrasts(y, domain, combinations, alpha=alpha, missing=missing)
    logit_rows = []
    for combination in combinations:
        slopes = _logit_coefficients(combination, means)
        if slopes is None:
            logit_rows.append(dict(logit_estimate=np.nan, logit_se=np.nan, logit_p_value=np.nan))
            continue
        estimate = float(sum(c * np.log(means[k] / (1 - means[k])) for k, c in combination.items()))
        se = float(design.contrast(y, domain, slopes, alpha=alpha, missing=missing).se)
        test = t_test(estimate, se, int(tests.df.iloc[len(logit_rows)]), alpha)
        logit_rows.append(dict(logit_estimate=estimate, logit_se=se, logit_p_value=test["p_value"]))
    return pd.concat([tests, pd.DataFrame(logit_rows)], axis=1)


def difference_in_differences(
    design: Design,
    y: str,
    period: str,
    group: str,
    periods: tuple,
    groups: tuple,
    by: str | list[str] | None = None,
    alpha: float = 0.05,
    missing: str = "error",
) -> pd.DataFrame:
    """(treated after - treated before) - (comparison after - comparison before), per domain.

    ``design`` holds the stacked rounds. Give each round its own strata when the
    rounds are independent samples; share PSU identifiers across rounds when the same
    clusters are visited again, so that their covariance enters the standard error.
    ``periods`` is (before, after) and ``groups`` is (treated, comparison). Returns the
    ``by`` columns, the four means, estimate, se, ci_low, ci_high, df, p_value,
    unavailable, and the logit-scale logit_estimate, logit_se, logit_p_value.
    """
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    cells = _cell_keys(periods, groups)
    means = design.mean(y, by=by + [group, period], missing=missing).set_index(by + [group, period]).estimate
    domains = [()] if not by else sorted({k[: len(by)] for k in means.index})
    domains = [d for d in domains if all(d + k in means.index for k in cells)]
    if not domains:
        return pd.DataFrame()
    combinations = [{d + k: sign for k, (_, sign) in cells.items()} for d in domains]
    tests = _with_logit(design, y, by + [group, period], combinations, means, alpha, missing)
    rows = [{**dict(zip(by, d)), **{name: means[d + k] for k, (name, _) in cells.items()}} for d in domains]
    return pd.concat([pd.DataFrame(rows), tests], axis=1)


def within_difference_in_differences(
    design: Design,
    y: str,
    period: str,
    group: str,
    periods: tuple,
    groups: tuple,
    within: str,
    by: str | list[str] | None = None,
    alpha: float = 0.05,
    missing: str = "error",
) -> pd.DataFrame:
    """The average over the ``within`` domains (districts) that hold all four cells of
    their difference in differences, each district counting equally; per ``by`` domain.
    Returns the ``by`` columns, ``domains`` (how many districts were averaged), then the
    columns of ``difference_in_differences`` without the four means."""
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    cells = _cell_keys(periods, groups)
    key = by + [within, group, period]
    means = design.mean(y, by=key, missing=missing).set_index(key).estimate
    outer = [()] if not by else sorted({k[: len(by)] for k in means.index})
    rows, combinations = [], []
    for d in outer:
        inner = sorted({k[len(by)] for k in means.index if k[: len(by)] == d})
        complete = [v for v in inner if all(d + (v,) + k in means.index for k in cells)]
        if not complete:
            continue
        rows.append({**dict(zip(by, d)), "domains": len(complete)})
        combinations.append({d + (v,) + k: sign / len(complete) for v in complete for k, (_, sign) in cells.items()})
    if not rows:
        return pd.DataFrame()
    return pd.concat([pd.DataFrame(rows), _with_logit(design, y, key, combinations, means, alpha, missing)], axis=1)

"""Design-based estimation for stratified cluster samples with weights.

``Design(data, weight, strata=None, psu=None, fpc=None)`` holds the sample design;
``mean``, ``total`` and ``ratio`` return one row per domain with the ``by`` columns,
then ``estimate, se, ci_low, ci_high, deff, n`` and after them ``df``, ``cv``,
``n_missing`` and ``reliable``. A 0/1 variable's mean is a proportion.

Conventions (those of Stata ``svy`` and R ``survey``):

- Variance by Taylor linearisation; PSUs are taken as drawn with replacement within
  strata, PSU identifiers are nested within strata. Without ``psu`` every row is a
  PSU; without ``strata`` there is one stratum.
- ``fpc``: a column (constant within a stratum) or a number. A value <= 1 is the
  sampling fraction of PSUs in the stratum; a value > 1 is the number of PSUs in the
  population of the stratum. Each stratum's contribution is multiplied by 1 - f.
- Domains (``by``) are estimated as subpopulations over the full design: rows outside
  a domain keep their stratum and PSU and contribute zero. Rows whose ``by`` value is
  missing belong to no domain.
- Degrees of freedom = number of PSUs - number of strata of the whole design, for
  every domain; intervals use Student's t. ``ci="logit"`` gives the logit interval
  for proportions (as Stata's ``svy: proportion``).
- Missing values of the analysis variable: ``missing="error"`` (the default) raises an
  error that names the column and counts the rows; ``missing="exclude"`` leaves those
  rows out of the domain (their design information stays) and reports how many there
  were in ``n_missing``. Nothing is dropped unseen.
- ``deff`` is Stata's: the design variance over the variance of simple random sampling
  without replacement of the same number of rows, computed within the domain (Stata's
  ``srssubpop`` for domains); the factor 1 - n/N̂ enters the SRS variance only when the
  design has an ``fpc``.
- ``reliable`` is False where ``n`` < ``MIN_N`` (30) or the coefficient of variation
  exceeds ``MAX_CV`` (0.30); for a proportion the CV is taken of min(p, 1 - p), so
  that rare and common outcomes are judged alike.

Single-PSU strata: ``lonely_psu="error"`` (default) raises an error naming the
strata; ``"certainty"`` lets them contribute nothing; ``"scaled"`` scales the
variance of the other strata by H / (H - H1) (R's ``average``, Stata's ``scaled``);
``"centered"`` centres their PSU total at the mean of all PSU totals (R's
``adjust``, Stata's ``centered``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

MIN_N = 30
MAX_CV = 0.30
LONELY_PSU = ("error", "certainty", "scaled", "centered")
RESULT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "deff", "n", "df", "cv", "n_missing", "reliable"]


class DesignError(ValueError):
    """A design or an estimate that cannot be computed as asked."""


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(values), sort=True)[0]


@dataclass
class _Linearized:
    """Point estimates of D domains and the PSU totals of their influence values."""

    estimate: np.ndarray  # (D,)
    psu_totals: np.ndarray  # (P, D)
    srs_variance: np.ndarray  # (D,)
    n: np.ndarray  # (D,)
    n_missing: np.ndarray  # (D,)
    binary: bool  # every present value of y is 0 or 1


class Design:
    """A sample design: weights, strata, PSUs and a finite population correction."""

    def __init__(self, data: pd.DataFrame, weight: str, strata: str | None = None, psu: str | None = None,
                 fpc: str | float | None = None, lonely_psu: str = "error"):
        if lonely_psu not in LONELY_PSU:
            raise DesignError(f"lonely_psu must be one of {LONELY_PSU}, not {lonely_psu!r}")
        for column in [weight, strata, psu] + ([fpc] if isinstance(fpc, str) else []):
            if column is not None and column not in data:
                raise DesignError(f"Không có cột «{column}» / No column '{column}' in the data")
        self.data = data
        self.weight, self.strata, self.psu, self.fpc, self.lonely_psu = weight, strata, psu, fpc, lonely_psu
        w = data[weight].to_numpy(dtype=float)
        if np.isnan(w).any() or (w < 0).any():
            raise DesignError(f"Trọng số «{weight}» thiếu hoặc âm / Weights '{weight}' are missing or negative "
                              f"in {int(np.isnan(w).sum() + (w < 0).sum())} rows")
        self._w = w
        self._factors: dict[str, tuple] = {}
        n_rows = len(data)
        stratum = _codes(data[strata]) if strata else np.zeros(n_rows, dtype=np.int64)
        if (stratum < 0).any():
            raise DesignError(f"Tầng «{strata}» bị thiếu / Stratum '{strata}' is missing in {(stratum < 0).sum()} rows")
        self._stratum_labels = np.sort(data[strata].unique()) if strata else np.array([None])
        if psu:
            psu_codes = _codes(data[psu])
            if (psu_codes < 0).any():
                raise DesignError(f"Đơn vị mẫu cấp 1 «{psu}» bị thiếu / PSU '{psu}' is missing in some rows")
            psu_codes = _codes(stratum.astype(np.int64) * (psu_codes.max() + 1) + psu_codes)
        else:
            psu_codes = np.arange(n_rows)
        self._psu = psu_codes
        n_psu = psu_codes.max() + 1 if n_rows else 0
        psu_stratum = np.zeros(n_psu, dtype=np.int64)
        psu_stratum[psu_codes] = stratum
        self._psu_stratum = psu_stratum
        self._psus_in_stratum = np.bincount(psu_stratum, minlength=len(self._stratum_labels))
        self.n_psu, self.n_strata = int(n_psu), len(self._stratum_labels)
        self.df = self.n_psu - self.n_strata
        self._sampling_fraction = self._fractions(stratum)
        self._lonely = np.flatnonzero(self._psus_in_stratum == 1)
        if len(self._lonely) and lonely_psu == "error":
            names = ", ".join(map(str, self._stratum_labels[self._lonely]))
            raise DesignError(f"Tầng chỉ có một đơn vị mẫu cấp 1: {names} / Strata with a single PSU: {names} "
                              f"(choose lonely_psu='certainty', 'scaled' or 'centered')")

    def _fractions(self, stratum: np.ndarray) -> np.ndarray:
        """Sampling fraction of PSUs in each stratum (zeros without fpc)."""
        if self.fpc is None:
            return np.zeros(self.n_strata)
        values = (self.data[self.fpc].to_numpy(dtype=float) if isinstance(self.fpc, str)
                  else np.full(len(self.data), float(self.fpc)))
        per_stratum = pd.Series(values).groupby(stratum)
        if (per_stratum.nunique() > 1).any():
            raise DesignError(f"fpc «{self.fpc}» khác nhau trong một tầng / fpc '{self.fpc}' varies within a stratum")
        first = per_stratum.first().to_numpy()
        fractions = np.where(first <= 1, first, self._psus_in_stratum / first)
        if (fractions > 1).any() or np.isnan(fractions).any():
            raise DesignError(f"fpc «{self.fpc}» nhỏ hơn số đơn vị mẫu / fpc '{self.fpc}' is below the number of PSUs")
        return fractions

    def assign(self, **columns) -> "Design":
        """The same design over the data with added or replaced columns (same rows)."""
        clone = copy.copy(self)
        clone.data = self.data.assign(**columns)
        clone._factors = {k: v for k, v in self._factors.items() if k not in columns}
        return clone

    # --- public estimates ---------------------------------------------------------

    def mean(self, y: str, by: str | list[str] | None = None, ci: str = "t", alpha: float = 0.05,
             missing: str = "error") -> pd.DataFrame:
        """Weighted mean of ``y`` per domain; the mean of a 0/1 variable is a proportion."""
        return self._estimate("mean", y, None, by, ci, alpha, missing)

    def total(self, y: str, by: str | list[str] | None = None, alpha: float = 0.05,
              missing: str = "error") -> pd.DataFrame:
        """Weighted total of ``y`` per domain."""
        return self._estimate("total", y, None, by, "t", alpha, missing)

    def ratio(self, numerator: str, denominator: str, by: str | list[str] | None = None, alpha: float = 0.05,
              missing: str = "error") -> pd.DataFrame:
        """Ratio of weighted totals, sum(w * numerator) / sum(w * denominator), per domain."""
        return self._estimate("ratio", numerator, denominator, by, "t", alpha, missing)

    def contrast(self, y: str, by: str | list[str], coefficients: dict, alpha: float = 0.05,
                 missing: str = "error") -> pd.Series:
        """A linear combination of domain means, sum(c_d * mean_d), with its design-based
        standard error (covariances between domains included), t interval and p-value.

        ``coefficients`` maps a domain (a value, or a tuple of values in the order of
        ``by``) to its coefficient. Returns estimate, se, ci_low, ci_high, df, p_value.
        """
        return self.contrasts(y, by, [coefficients], alpha, missing).iloc[0]

    def contrasts(self, y: str, by: str | list[str], combinations: list[dict], alpha: float = 0.05,
                  missing: str = "error") -> pd.DataFrame:
        """Several linear combinations of the same domain means (see ``contrast``), one row each."""
        by = [by] if isinstance(by, str) else list(by)
        domains, lin = self._linearize("mean", y, None, by, missing)
        keys = [k[0] if len(by) == 1 else tuple(k) for k in domains.itertuples(index=False)]
        unknown = [k for c in combinations for k in c if k not in keys]
        if unknown:
            raise DesignError(f"Không có nhóm {unknown} trong dữ liệu / No domain {unknown} in the data")
        matrix = np.array([[c.get(k, 0.0) for k in keys] for c in combinations], dtype=float).T  # (D, K)
        estimates = lin.estimate @ matrix
        scaled, plain = self._covariance_factors(lin.psu_totals)
        variances = np.einsum("pk,pk->k", scaled @ matrix, plain @ matrix)
        return pd.DataFrame([_t_test(float(e), float(np.sqrt(max(v, 0.0))), self.df, alpha)
                             for e, v in zip(estimates, variances)])

    # --- computation ----------------------------------------------------------------

    def _domains(self, by: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        """The domains present (sorted as groupby sorts them) and each row's domain (-1: none)."""
        if not by:
            return pd.DataFrame(index=[0]), np.zeros(len(self.data), dtype=np.int64)
        missing_columns = [b for b in by if b not in self.data]
        if missing_columns:
            raise DesignError(f"Không có cột {missing_columns} / No column {missing_columns} in the data")
        factors = [self._factorize(b) for b in by]
        codes = np.stack([f[0] for f in factors])
        valid = (codes >= 0).all(axis=0)
        sizes = [max(len(f[1]), 1) for f in factors]
        combined = np.ravel_multi_index(np.where(valid, codes, 0), sizes)
        row_domain = np.full(len(self.data), -1, dtype=np.int64)
        space = int(np.prod(sizes, dtype=np.float64))
        if space <= 4 * len(self.data) + 1024:  # a small space of combinations: count, O(n)
            seen = np.bincount(combined[valid], minlength=space) > 0
            present = np.flatnonzero(seen)
            row_domain[valid] = (np.cumsum(seen) - 1)[combined[valid]]
        else:
            present, row_domain[valid] = np.unique(combined[valid], return_inverse=True)
        positions = np.unravel_index(present, sizes)
        domains = pd.DataFrame({b: np.asarray(f[1])[p] for b, f, p in zip(by, factors, positions)})
        return domains, row_domain

    def _factorize(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """Codes and sorted levels of a domain column, computed once per design."""
        if column not in self._factors:
            self._factors[column] = pd.factorize(self.data[column], sort=True)
        return self._factors[column]

    def _values(self, column: str, missing: str) -> np.ndarray:
        if column not in self.data:
            raise DesignError(f"Không có cột «{column}» / No column '{column}' in the data")
        values = pd.to_numeric(self.data[column], errors="coerce").to_numpy(dtype=float)
        not_numeric = self.data[column].notna().to_numpy() & np.isnan(values)
        if not_numeric.any():
            raise DesignError(f"Cột «{column}» có {not_numeric.sum()} giá trị không phải số / "
                              f"Column '{column}' has {not_numeric.sum()} non-numeric values")
        if missing == "error" and np.isnan(values).any():
            raise DesignError(f"Cột «{column}» thiếu {np.isnan(values).sum()} giá trị; chọn missing='exclude' / "
                              f"Column '{column}' has {np.isnan(values).sum()} missing values; pass missing='exclude'")
        if missing not in ("error", "exclude"):
            raise DesignError(f"missing must be 'error' or 'exclude', not {missing!r}")
        return values

    def _linearize(self, kind: str, y: str, x: str | None, by: list[str], missing: str
                   ) -> tuple[pd.DataFrame, _Linearized]:
        domains, dom = self._domains(by)
        n_dom = len(domains)
        yv = self._values(y, missing)
        xv = self._values(x, missing) if x else np.ones_like(yv)
        in_domain = dom >= 0
        valid = in_domain & ~np.isnan(yv) & ~np.isnan(xv)
        d = np.where(valid, dom, 0)
        w = np.where(valid, self._w, 0.0)
        y0, x0 = np.where(valid, yv, 0.0), np.where(valid, xv, 0.0)
        wy = np.bincount(d, w * y0, minlength=n_dom)
        wx = np.bincount(d, w * x0, minlength=n_dom)
        w_sum = np.bincount(d, w, minlength=n_dom)
        n = np.bincount(d, valid, minlength=n_dom).astype(int)
        n_missing = np.bincount(np.where(in_domain, dom, 0), in_domain & ~valid, minlength=n_dom).astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "total":
                estimate = wy
                u = y0  # influence per unit of weight
            else:
                estimate = wy / wx
                u = (y0 - estimate[d] * x0) / wx[d]
        u = np.where(valid, u, 0.0)
        z = w * u
        psu_totals = np.bincount(self._psu * n_dom + d, z, minlength=self.n_psu * n_dom).reshape(self.n_psu, n_dom)
        # Stata's SRS variance of the same estimator from the domain's n rows.
        with np.errstate(divide="ignore", invalid="ignore"):
            u_bar = np.bincount(d, z, minlength=n_dom) / w_sum
            spread = np.bincount(d, w * (u - u_bar[d]) ** 2 * valid, minlength=n_dom)
            srs = w_sum ** 2 * spread / ((w_sum - 1) * n)
            if self.fpc is not None:
                srs = srs * (1 - n / w_sum)
        present = yv[~np.isnan(yv)]
        binary = bool(len(present)) and bool(((present == 0) | (present == 1)).all())
        return domains, _Linearized(estimate, psu_totals, srs, n, n_missing, binary)

    def _estimate(self, kind: str, y: str, x: str | None, by, ci: str, alpha: float, missing: str) -> pd.DataFrame:
        by = [] if by is None else ([by] if isinstance(by, str) else list(by))
        domains, lin = self._linearize(kind, y, x, by, missing)
        variance = np.einsum("pd,pd->d", *self._covariance_factors(lin.psu_totals))
        se = np.sqrt(np.maximum(variance, 0.0))
        q = _t_quantile(alpha, self.df)
        estimate = lin.estimate
        is_proportion = kind == "mean" and lin.binary
        if ci == "logit":
            if not is_proportion:
                raise DesignError(f"Khoảng tin cậy logit chỉ dành cho tỷ lệ / The logit interval needs a 0/1 variable, "
                                  f"'{y}' is not one")
            low, high = _logit_interval(estimate, se, q)
        elif ci == "t":
            low, high = estimate - q * se, estimate + q * se
        else:
            raise DesignError(f"ci must be 't' or 'logit', not {ci!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = variance / lin.srs_variance
            base = np.minimum(estimate, 1 - estimate) if is_proportion else np.abs(estimate)
            cv = se / base
        columns = dict(zip(RESULT_COLUMNS, [estimate, se, low, high, deff, lin.n, np.full(len(domains), self.df), cv,
                                            lin.n_missing, (lin.n >= MIN_N) & ~(cv > MAX_CV)]))
        return pd.concat([domains.reset_index(drop=True), pd.DataFrame(columns)], axis=1)

    def _covariance_factors(self, psu_totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled and plain deviations of PSU totals from their stratum centre: the
        covariance of the estimates is ``scaled.T @ plain``."""
        n_h = self._psus_in_stratum
        sums = np.zeros((self.n_strata, psu_totals.shape[1]))
        np.add.at(sums, self._psu_stratum, psu_totals)
        centre = sums / np.maximum(n_h, 1)[:, None]
        lonely = n_h == 1
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(lonely, 1.0, n_h / (n_h - 1)) * (1 - self._sampling_fraction)
        if lonely.any():
            if self.lonely_psu == "centered":
                centre[lonely] = psu_totals.sum(axis=0) / self.n_psu
            else:
                scale[lonely] = 0.0
            if self.lonely_psu == "scaled":
                scale = scale * self.n_strata / (self.n_strata - lonely.sum())
        deviations = psu_totals - centre[self._psu_stratum]
        return deviations * scale[self._psu_stratum][:, None], deviations


@lru_cache(maxsize=64)
def _t_quantile(alpha: float, df: int) -> float:
    """Student's t quantile for a two-sided 1 - alpha interval (NaN without degrees of freedom)."""
    return float(stats.t.ppf(1 - alpha / 2, df)) if df > 0 else np.nan


def _logit_interval(p: np.ndarray, se: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Stata's logit interval for a proportion; degenerate at p = 0 or 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(p / (1 - p))
        half = q * se / (p * (1 - p))
        low = 1 / (1 + np.exp(-(centre - half)))
        high = 1 / (1 + np.exp(-(centre + half)))
    edge = (p <= 0) | (p >= 1)
    return np.where(edge, p, low), np.where(edge, p, high)


def _t_test(estimate: float, se: float, df: int, alpha: float = 0.05) -> pd.Series:
    """Estimate, se, t interval and two-sided p-value of a contrast against zero."""
    q = _t_quantile(alpha, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * stats.t.sf(abs(estimate / se), df) if se > 0 and df > 0 else np.nan
    return pd.Series(dict(estimate=estimate, se=se, ci_low=estimate - q * se, ci_high=estimate + q * se, df=df,
                          p_value=p_value))


def change(before: pd.DataFrame, after: pd.DataFrame, by: str | list[str] | None = None,
           alpha: float = 0.05) -> pd.DataFrame:
    """Change between two rounds drawn as independent samples, per domain.

    ``before`` and ``after`` are results of ``Design.mean`` (or ``total``/``ratio``)
    with the same ``by`` columns. The variance of the change is the sum of the two
    variances; degrees of freedom are the sum of the two designs' (the two samples
    are strata of one combined design). Returns the ``by`` columns, ``before``,
    ``after``, then estimate (after - before), se, ci_low, ci_high, df, p_value.
    """
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    a = before[by + ["estimate", "se", "df"]]
    b = after[by + ["estimate", "se", "df"]]
    merged = a.merge(b, on=by, suffixes=("_before", "_after"), how="inner") if by else \
        pd.concat([a.add_suffix("_before"), b.add_suffix("_after")], axis=1)
    rows = [_t_test(r.estimate_after - r.estimate_before, float(np.hypot(r.se_before, r.se_after)),
                    int(r.df_before + r.df_after), alpha) for r in merged.itertuples()]
    tests = pd.DataFrame(rows, index=merged.index)
    out = merged[by].copy()
    out["before"], out["after"] = merged.estimate_before, merged.estimate_after
    return pd.concat([out, tests], axis=1).reset_index(drop=True)


def difference_in_differences(design: Design, y: str, period: str, group: str, periods: tuple, groups: tuple,
                              by: str | list[str] | None = None, alpha: float = 0.05,
                              missing: str = "error") -> pd.DataFrame:
    """(treated after - treated before) - (comparison after - comparison before), per domain.

    ``design`` holds the stacked rounds. Give each round its own strata when the
    rounds are independent samples; share PSU identifiers across rounds when the same
    clusters are visited again, so that their covariance enters the standard error.
    ``periods`` is (before, after) and ``groups`` is (treated, comparison). Returns the
    ``by`` columns, then the four means (treated_before, treated_after, comparison_before,
    comparison_after), estimate, se, ci_low, ci_high, df, p_value.
    """
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    (p0, p1), (g1, g0) = periods, groups
    weights = {(g1, p1): 1.0, (g1, p0): -1.0, (g0, p1): -1.0, (g0, p0): 1.0}
    cell_names = {(g1, p0): "treated_before", (g1, p1): "treated_after", (g0, p0): "comparison_before",
                  (g0, p1): "comparison_after"}
    cells = design.mean(y, by=by + [group, period], missing=missing).set_index(by + [group, period]).estimate
    domains = [()] if not by else sorted({k[:len(by)] for k in cells.index})
    domains = [d for d in domains if all(d + k in cells.index for k in weights)]
    if not domains:
        return pd.DataFrame()
    tests = design.contrasts(y, by + [group, period], [{d + k: c for k, c in weights.items()} for d in domains],
                             alpha=alpha, missing=missing)
    rows = [{**dict(zip(by, d)), **{cell_names[k]: cells[d + k] for k in weights}, **t.to_dict()}
            for d, (_, t) in zip(domains, tests.iterrows())]
    return pd.DataFrame(rows)

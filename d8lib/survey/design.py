"""Design-based estimation for stratified cluster samples with weights.

``Design(data, weight, strata=None, psu=None, fpc=None)`` holds the sample design;
``mean``, ``total`` and ``ratio`` return one row per domain with the ``by`` columns,
then ``estimate, se, ci_low, ci_high, deff, n`` and after them ``df``, ``n_eff``,
``cv`` and ``n_missing``. A 0/1 variable's mean is a proportion. Whether a figure
may be published is judged elsewhere (``d8lib.survey.standards``), from these columns.

Conventions (those of Stata ``svy`` and R ``survey``):

- Variance by Taylor linearisation; PSUs are taken as drawn with replacement within
  strata, PSU identifiers are nested within strata. Without ``psu`` every row is a
  PSU; without ``strata`` there is one stratum.
- ``fpc``: a column (constant within a stratum) or a number. A value <= 1 is the
  sampling fraction of PSUs in the stratum; a value > 1 is the number of PSUs in the
  population of the stratum. Each stratum's contribution is multiplied by 1 - f.
- Two stages (``psu=["psu", "ssu"]``, SSUs nested within PSUs, and ``fpc=["f1", "f2"]``,
  f2 constant within a PSU: the fraction or number of its SSUs) add the second stage's
  variance as R's ``svydesign(ids = ~psu + ssu, fpc = ~f1 + f2)``: within each PSU, the variance of
  its SSU totals (m / (m - 1) (1 - m/M)) times the first stage's sampling fraction n/N.
  Without a first-stage ``fpc`` that fraction is 0 and the result is the first
  stage's with-replacement variance, as without ``ssu``; only the PSUs count in the
  degrees of freedom. A PSU with a single SSU follows ``lonely_psu``.
- Domains (``by``) are estimated as subpopulations over the full design: rows outside
  a domain keep their stratum and PSU and contribute zero. Rows whose ``by`` value is
  missing belong to no domain.
- Degrees of freedom of a domain: the PSUs holding rows of the domain with a nonzero
  weight (and an answer) minus the strata holding them, as R's
  ``degf(subset(design, ...))``; for a contrast, those of all the cells it combines.
  Intervals use Student's t with those degrees of freedom.
- ``ci``: ``"t"``; ``"logit"`` (R's ``svyciprop(method = "logit")``, Stata's
  ``svy: proportion``); ``"korn-graubard"`` (R's ``svyciprop(method = "beta")``: a
  Clopper-Pearson interval at the effective sample size p(1 - p) / var, scaled by
  (t(n - 1) / t(df))^2). At 0% or 100%, where the variance is zero, the effective
  sample size is n (as the NCHS presentation standard says), so the interval is not
  degenerate.
- ``n_eff`` of a proportion is p(1 - p) / var, at most n, and n at 0% or 100% (the
  NCHS standard's effective sample size); NaN for other estimates.
- Missing values of the analysis variable: ``missing="error"`` (the default) raises an
  error that names the column and counts the rows; ``missing="exclude"`` leaves those
  rows out of the domain (their design information stays) and reports how many there
  were in ``n_missing``. Nothing is dropped unseen.
- ``deff``: the design variance over the variance of simple random sampling of the
  domain's n rows, with the population variance estimated as R's ``svyvar`` does,
  n / (n - 1) * sum(w (v - v̄)^2) / sum(w), v the estimate's linearised values; the
  factor 1 - n/N̂ enters only when the design has an ``fpc`` (Stata's convention; R's
  ``deff = "replace"`` without one, ``deff = TRUE`` with one: Lehtonen-Pahkinen's
  ``svy: total ue91`` gives 0.758641 in both).
- ``cv`` is se / |estimate|.
- A calibrated design (``calibrate``) computes variances from the residuals of the
  linearised values regressed on the calibration variables with the design weights,
  as R's ``calibrate``.

Single-PSU strata, as R's ``survey`` (4.x) treats them for every estimator (totals,
means, ratios, their domains and contrasts): ``lonely_psu="error"`` (default) raises
an error naming the strata; ``"certainty"`` lets them contribute nothing;
``"scaled"`` (R's ``average``) scales the variance of the other strata by H / (H - H1),
where for a domain H counts the strata holding its rows and H1 the single-PSU strata
among them (R's ``svyby`` drops the other rows; a calibrated design keeps them all, so
its domains use the whole design's H and H1); ``"centered"`` (R's ``adjust``) lets the
single PSU's total deviate from zero, which for a mean, whose linearised values add up
to zero, is its deviation from the mean of all PSU totals.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import sparse, special

from d8lib.survey import weighting

LONELY_PSU = ("error", "certainty", "scaled", "centered")
INTERVALS = ("t", "logit", "korn-graubard")
RESULT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "deff", "n", "df", "n_eff", "cv", "n_missing"]
CONTRAST_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "df", "p_value", "unavailable"]


class DesignError(ValueError):
    """A design or an estimate that cannot be computed as asked."""


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(values), sort=True)[0]


@dataclass
class _Linearized:
    """Point estimates of D domains, the PSU totals of their influence values and
    which PSUs hold each domain's rows."""

    estimate: np.ndarray  # (D,)
    psu_totals: np.ndarray  # (P, D)
    holds: np.ndarray  # (P, D) bool: the PSU has a row of the domain with a nonzero weight
    ssu_totals: np.ndarray | None  # (S, D): the same totals per SSU of a two-stage design
    srs_variance: np.ndarray  # (D,)
    weight_total: np.ndarray  # (D,)
    n: np.ndarray  # (D,)
    n_missing: np.ndarray  # (D,)
    binary: bool  # every present value of y is 0 or 1
    rows: tuple  # each row's domain, whether it counts, y and x (0 where it does not count)


class Design:
    """A sample design: weights, strata, PSUs and a finite population correction."""

    def __init__(
        self,
        data: pd.DataFrame,
        weight: str,
        strata: str | None = None,
        psu: str | list[str] | None = None,
        fpc: str | float | list | None = None,
        lonely_psu: str = "error",
    ):
        if lonely_psu not in LONELY_PSU:
            raise DesignError(f"lonely_psu must be one of {LONELY_PSU}, not {lonely_psu!r}")
        psu, ssu = _stages(psu, "psu")
        fpc, fpc2 = _stages(fpc, "fpc")
        if fpc2 is not None and ssu is None:
            raise DesignError("fpc của cấp 2 cần psu cấp 2 / a second-stage fpc needs a second-stage psu")
        for column in [weight, strata, psu, ssu] + [f for f in (fpc, fpc2) if isinstance(f, str)]:
            if column is not None and column not in data:
                raise DesignError(f"Không có cột «{column}» / No column '{column}' in the data")
        self.data = data
        self.weight, self.strata, self.psu, self.fpc, self.lonely_psu = weight, strata, psu, fpc, lonely_psu
        w = data[weight].to_numpy(dtype=float)
        if np.isnan(w).any() or (w < 0).any():
            raise DesignError(
                f"Trọng số «{weight}» thiếu hoặc âm / Weights '{weight}' are missing or negative "
                f"in {int(np.isnan(w).sum() + (w < 0).sum())} rows"
            )
        self._w = w
        self._calibration: weighting.Calibration | None = None
        self._factors: dict[str, tuple] = {}
        n_rows = len(data)
        stratum = _codes(data[strata]) if strata else np.zeros(n_rows, dtype=np.int64)
        if (stratum < 0).any():
            raise DesignError(f"Tầng «{strata}» bị thiếu / Stratum '{strata}' is missing in {(stratum < 0).sum()} rows")
        self._stratum = stratum
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
        self.ssu, self.fpc2 = ssu, fpc2
        self._second_stage(psu_codes)
        self._lonely = np.flatnonzero(self._psus_in_stratum == 1)
        if len(self._lonely) and lonely_psu == "error":
            names = ", ".join(map(str, self._stratum_labels[self._lonely]))
            raise DesignError(
                f"Tầng chỉ có một đơn vị mẫu cấp 1: {names} / Strata with a single PSU: {names} "
                f"(choose lonely_psu='certainty', 'scaled' or 'centered')"
            )

    def _second_stage(self, psu_codes: np.ndarray) -> None:
        """The SSUs within each PSU and what each SSU's deviation counts for: the PSU's
        stratum's first-stage sampling fraction n/N times m/(m - 1) (1 - m/M), m SSUs
        sampled of M in its PSU (R's ``multistage``). Without a first-stage fpc the
        fraction is 0, and the first stage's with-replacement variance is all."""
        if self.ssu is None:
            self._ssu, self._ssu_weight, self.n_ssu = None, None, 0
            return
        codes = _codes(self.data[self.ssu])
        if (codes < 0).any():
            raise DesignError(f"Đơn vị mẫu cấp 2 «{self.ssu}» bị thiếu / SSU '{self.ssu}' is missing in some rows")
        ssu = _codes(psu_codes.astype(np.int64) * (codes.max() + 1) + codes)
        n_ssu = int(ssu.max()) + 1 if len(ssu) else 0
        ssu_psu = np.zeros(n_ssu, dtype=np.int64)
        ssu_psu[ssu] = psu_codes
        m = np.bincount(ssu_psu, minlength=self.n_psu).astype(float)
        if self.fpc2 is None:
            f2 = np.zeros(self.n_psu)
        else:
            values = (
                self.data[self.fpc2] if isinstance(self.fpc2, str) else pd.Series(float(self.fpc2), self.data.index)
            )
            per_psu = pd.Series(values.to_numpy(dtype=float)).groupby(psu_codes)
            if (per_psu.nunique() > 1).any():
                raise DesignError(
                    f"fpc2 «{self.fpc2}» khác nhau trong một PSU / fpc2 '{self.fpc2}' varies within a PSU"
                )
            first = per_psu.first().to_numpy()
            f2 = np.where(first <= 1, first, m / first)
            if (f2 > 1).any() or np.isnan(f2).any():
                raise DesignError(f"fpc2 «{self.fpc2}» nhỏ hơn số SSU / fpc2 '{self.fpc2}' is below the number of SSUs")
        lonely = (m == 1) & (f2 < 1)
        if lonely.any() and self.lonely_psu == "error" and self._sampling_fraction.any():
            raise DesignError(
                f"{int(lonely.sum())} PSU chỉ có một SSU / {int(lonely.sum())} PSUs with a single SSU "
                "(choose lonely_psu='certainty', 'scaled' or 'centered')"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            within = np.where(m > 1, m / (m - 1), 1.0) * (1 - f2)
        if self.lonely_psu != "centered":
            within = np.where(m > 1, within, 0.0)
        per_psu = self._sampling_fraction[self._psu_stratum] * within
        self._ssu, self._ssu_psu, self._ssu_m, self.n_ssu = ssu, ssu_psu, m, n_ssu
        self._ssu_weight = per_psu[ssu_psu]

    @property
    def single_psu_strata(self) -> list:
        """The strata with a single PSU (``lonely_psu`` says how they count)."""
        return list(self._stratum_labels[self._lonely])

    def _fractions(self, stratum: np.ndarray) -> np.ndarray:
        """Sampling fraction of PSUs in each stratum (zeros without fpc)."""
        if self.fpc is None:
            return np.zeros(self.n_strata)
        values = (
            self.data[self.fpc].to_numpy(dtype=float)
            if isinstance(self.fpc, str)
            else np.full(len(self.data), float(self.fpc))
        )
        per_stratum = pd.Series(values).groupby(stratum)
        if (per_stratum.nunique() > 1).any():
            raise DesignError(f"fpc «{self.fpc}» khác nhau trong một tầng / fpc '{self.fpc}' varies within a stratum")
        first = per_stratum.first().to_numpy()
        fractions = np.where(first <= 1, first, self._psus_in_stratum / first)
        if (fractions > 1).any() or np.isnan(fractions).any():
            raise DesignError(f"fpc «{self.fpc}» nhỏ hơn số đơn vị mẫu / fpc '{self.fpc}' is below the number of PSUs")
        return fractions

    def replicates(self, method: str = "jkn", replicates: int | None = None, seed: int | None = None):
        """The same sample as a replicate-weight design (``d8lib.survey.replicates``):
        ``"jk1"`` (no strata), ``"jkn"`` or ``"bootstrap"`` (Rao-Wu, ``replicates``
        resamples drawn with ``seed``), as R's ``as.svrepdesign``."""
        from d8lib.survey.replicates import replicate

        return replicate(self, method, replicates, seed)

    @staticmethod
    def from_replicates(
        data: pd.DataFrame,
        weight: str,
        replicate_weights: list[str] | str,
        method: str,
        scale: float | None = None,
        rscales=None,
        mse: bool = False,
    ):
        """A design from replicate weights given with the data, as R's ``svrepdesign``
        (see ``d8lib.survey.replicates.ReplicateDesign.given``)."""
        from d8lib.survey.replicates import ReplicateDesign

        return ReplicateDesign.given(data, weight, replicate_weights, method, scale, rscales, mse)

    def assign(self, **columns) -> Design:
        """The same design over the data with added or replaced columns (same rows)."""
        clone = copy.copy(self)
        clone.data = self.data.assign(**columns)
        clone._factors = {k: v for k, v in self._factors.items() if k not in columns}
        return clone

    @property
    def weights(self) -> pd.Series:
        """The weights in use (calibrated where the design was calibrated)."""
        return pd.Series(self._w, index=self.data.index, name=self.weight)

    def calibrate(
        self, margins: dict, method: str = "raking", max_iterations: int = 100, tolerance: float = 1e-10
    ) -> Design:
        """A new design whose weights reproduce known population totals.

        ``margins`` maps a column to ``{level: population total}``; every row's level
        must be listed, and every margin must add up to the same total. ``method`` is
        ``"raking"`` (R's ``calfun = "raking"``) or ``"linear"`` (the GREG estimator,
        R's ``calfun = "linear"``). Variances of the new design use the calibration
        residuals, so they reflect what the totals tell.
        """
        if self._calibration is not None:
            raise DesignError(
                "Thiết kế đã được hiệu chỉnh; hãy hiệu chỉnh một lần với mọi biên / "
                "The design is already calibrated: calibrate once, with all margins"
            )
        calibration = weighting.calibrate(self.data, self._w, margins, method, max_iterations, tolerance)
        clone = copy.copy(self)
        clone._w = self._w * calibration.g
        clone._calibration = calibration
        membership = sparse.csr_matrix(
            (np.ones(len(self._psu)), (np.arange(len(self._psu)), self._psu)), shape=(len(self._psu), self.n_psu)
        )
        clone._psu_model = np.asarray(membership.T @ (clone._w[:, None] * calibration.model))  # (P, k)
        if self._ssu is not None:
            rows = np.arange(len(self._ssu))
            within = sparse.csr_matrix((np.ones(len(rows)), (rows, self._ssu)), shape=(len(rows), self.n_ssu))
            clone._ssu_model = np.asarray(within.T @ (clone._w[:, None] * calibration.model))  # (S, k)
        return clone

    # --- public estimates ---------------------------------------------------------

    def mean(
        self, y: str, by: str | list[str] | None = None, ci: str = "t", alpha: float = 0.05, missing: str = "error"
    ) -> pd.DataFrame:
        """Weighted mean of ``y`` per domain; the mean of a 0/1 variable is a proportion."""
        return self._estimate("mean", y, None, by, ci, alpha, missing)

    def total(
        self, y: str, by: str | list[str] | None = None, alpha: float = 0.05, missing: str = "error"
    ) -> pd.DataFrame:
        """Weighted total of ``y`` per domain."""
        return self._estimate("total", y, None, by, "t", alpha, missing)

    def ratio(
        self,
        numerator: str,
        denominator: str,
        by: str | list[str] | None = None,
        alpha: float = 0.05,
        missing: str = "error",
    ) -> pd.DataFrame:
        """Ratio of weighted totals, sum(w * numerator) / sum(w * denominator), per domain."""
        return self._estimate("ratio", numerator, denominator, by, "t", alpha, missing)

    def contrast(
        self, y: str, by: str | list[str], coefficients: dict, alpha: float = 0.05, missing: str = "error"
    ) -> pd.Series:
        """A linear combination of domain means, sum(c_d * mean_d), with its design-based
        standard error (covariances between domains included), t interval and p-value.

        ``coefficients`` maps a domain (a value, or a tuple of values in the order of
        ``by``) to its coefficient. Returns estimate, se, ci_low, ci_high, df, p_value
        and ``unavailable`` (why it could not be computed, or "").
        """
        return self.contrasts(y, by, [coefficients], alpha, missing).iloc[0]

    def contrasts(
        self, y: str, by: str | list[str], combinations: list[dict], alpha: float = 0.05, missing: str = "error"
    ) -> pd.DataFrame:
        """Several linear combinations of the same domain means (see ``contrast``), one row each.

        Only the cells with a nonzero coefficient enter a combination: a cell with no
        usable answer (or a zero weight total) makes only the combinations that use it
        unavailable, with the reason ``"empty_cell"``; a domain absent from the data,
        ``"missing_cell"``. The degrees of freedom are those of the cells combined.
        """
        by = [by] if isinstance(by, str) else list(by)
        domains, lin = self._linearize("mean", y, None, by, missing)
        keys = [k[0] if len(by) == 1 else tuple(k) for k in domains.itertuples(index=False)]
        position = {k: i for i, k in enumerate(keys)}
        scaled, plain = self._covariance_factors(lin)
        rows = []
        for combination in combinations:
            used = {k: float(c) for k, c in combination.items() if c != 0}
            if any(k not in position for k in used):
                rows.append(_unavailable("missing_cell"))
                continue
            index = np.array([position[k] for k in used], dtype=int)
            c = np.array(list(used.values()))
            if not np.isfinite(lin.estimate[index]).all() or (lin.weight_total[index] <= 0).any():
                rows.append(_unavailable("empty_cell"))
                continue
            estimate = float(lin.estimate[index] @ c)
            variance = float((scaled[:, index] @ c) @ (plain[:, index] @ c))
            df = self._domain_df(lin.holds[:, index].any(axis=1, keepdims=True))[0]
            rows.append(t_test(estimate, float(np.sqrt(max(variance, 0.0))), int(df), alpha))
        return pd.DataFrame(rows, columns=CONTRAST_COLUMNS)

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
            raise DesignError(
                f"Cột «{column}» có {not_numeric.sum()} giá trị không phải số / "
                f"Column '{column}' has {not_numeric.sum()} non-numeric values"
            )
        if missing == "error" and np.isnan(values).any():
            raise DesignError(
                f"Cột «{column}» thiếu {np.isnan(values).sum()} giá trị; chọn missing='exclude' / "
                f"Column '{column}' has {np.isnan(values).sum()} missing values; pass missing='exclude'"
            )
        if missing not in ("error", "exclude"):
            raise DesignError(f"missing must be 'error' or 'exclude', not {missing!r}")
        return values

    def _linearize(
        self, kind: str, y: str, x: str | None, by: list[str], missing: str
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
        cell = self._psu * n_dom + d
        psu_totals = np.bincount(cell, z, minlength=self.n_psu * n_dom).reshape(self.n_psu, n_dom)
        holds = np.bincount(cell, valid & (w > 0), minlength=self.n_psu * n_dom).reshape(self.n_psu, n_dom) > 0
        ssu_totals = None
        if self._ssu is not None:
            ssu_cell = self._ssu * n_dom + d
            ssu_totals = np.bincount(ssu_cell, z, minlength=self.n_ssu * n_dom).reshape(self.n_ssu, n_dom)
        if self._calibration is not None:
            coefficients = self._calibration.coefficients(u, d, valid, n_dom)
            psu_totals = psu_totals - self._psu_model @ coefficients
            if ssu_totals is not None:
                ssu_totals = ssu_totals - self._ssu_model @ coefficients
        # The SRS variance of the same estimator from the domain's n rows (R's svyvar).
        with np.errstate(divide="ignore", invalid="ignore"):
            u_bar = np.bincount(d, z, minlength=n_dom) / w_sum
            spread = np.bincount(d, w * (u - u_bar[d]) ** 2 * valid, minlength=n_dom)
            srs = w_sum * spread / (n - 1)
            if self.fpc is not None:
                srs = srs * (1 - n / w_sum)
        present = yv[~np.isnan(yv)]
        binary = bool(len(present)) and bool(((present == 0) | (present == 1)).all())
        lin = _Linearized(estimate, psu_totals, holds, ssu_totals, srs, w_sum, n, n_missing, binary, (d, valid, y0, x0))
        return domains, lin

    def _domain_df(self, holds: np.ndarray) -> np.ndarray:
        """PSUs holding each domain's rows minus the strata holding them."""
        strata = np.zeros((self.n_strata, holds.shape[1]), dtype=bool)
        np.logical_or.at(strata, self._psu_stratum, holds)
        return holds.sum(axis=0) - strata.sum(axis=0)

    def _estimate(self, kind: str, y: str, x: str | None, by, ci: str, alpha: float, missing: str) -> pd.DataFrame:
        if ci not in INTERVALS:
            raise DesignError(f"ci must be one of {INTERVALS}, not {ci!r}")
        by = [] if by is None else ([by] if isinstance(by, str) else list(by))
        domains, lin = self._linearize(kind, y, x, by, missing)
        variance = np.einsum("pd,pd->d", *self._covariance_factors(lin))
        se = np.sqrt(np.maximum(variance, 0.0))
        df = self._domain_df(lin.holds)
        q = t_quantiles(alpha, df)
        estimate = lin.estimate
        is_proportion = kind == "mean" and lin.binary
        if ci != "t" and not is_proportion:
            raise DesignError(
                f"Khoảng tin cậy «{ci}» chỉ dành cho tỷ lệ / The {ci} interval needs a 0/1 variable, '{y}' is not one"
            )
        if ci == "logit":
            low, high = logit_interval(estimate, se, q)
        elif ci == "korn-graubard":
            low, high = korn_graubard_interval(estimate, variance, lin.n, df, alpha)
        else:
            low, high = estimate - q * se, estimate + q * se
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = variance / lin.srs_variance
            cv = se / np.abs(estimate)
            n_eff = (
                np.where(
                    (estimate <= 0) | (estimate >= 1) | (variance <= 0),
                    lin.n,
                    np.minimum(estimate * (1 - estimate) / variance, lin.n),
                )
                if is_proportion
                else np.full(len(domains), np.nan)
            )
        columns = dict(zip(RESULT_COLUMNS, [estimate, se, low, high, deff, lin.n, df, n_eff, cv, lin.n_missing]))
        return pd.concat([domains.reset_index(drop=True), pd.DataFrame(columns)], axis=1)

    def _covariance_factors(self, lin: _Linearized) -> tuple[np.ndarray, np.ndarray]:
        """Scaled and plain deviations of PSU totals from their stratum centre, then of a
        two-stage design's SSU totals from their PSU's centre: the covariance of the
        estimates is ``scaled.T @ plain`` (single-PSU strata: the module's notes)."""
        psu_totals, holds = lin.psu_totals, lin.holds
        n_h = self._psus_in_stratum
        sums = np.zeros((self.n_strata, psu_totals.shape[1]))
        np.add.at(sums, self._psu_stratum, psu_totals)
        centre = sums / np.maximum(n_h, 1)[:, None]
        lonely = n_h == 1
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(lonely, 1.0, n_h / (n_h - 1)) * (1 - self._sampling_fraction)
        if lonely.any():
            if self.lonely_psu == "centered":
                centre[lonely] = 0.0
            else:
                scale[lonely] = 0.0
        deviations = psu_totals - centre[self._psu_stratum]
        scaled = deviations * scale[self._psu_stratum][:, None]
        if lonely.any() and self.lonely_psu == "scaled":
            scaled = scaled * self._average_factor(lonely, holds)[None, :]
        if lin.ssu_totals is None:
            return scaled, deviations
        m = self._ssu_m[:, None]
        centre = np.where(m > 1, psu_totals / np.maximum(m, 1), 0.0)  # a single SSU: from zero (centered)
        within = lin.ssu_totals - centre[self._ssu_psu]
        return (
            np.vstack([scaled, within * self._ssu_weight[:, None]]),
            np.vstack([deviations, within]),
        )

    def _average_factor(self, lonely: np.ndarray, holds: np.ndarray) -> np.ndarray:
        """R's ``average``: H / (H - H1) per domain, H the strata holding its rows (every
        stratum in a calibrated design), H1 the single-PSU strata among them that are not
        sampled whole (a stratum sampled whole has no variance to stand in for)."""
        present = np.zeros((self.n_strata, holds.shape[1]), dtype=bool)
        np.logical_or.at(present, self._psu_stratum, holds)
        if self._calibration is not None:
            present[:] = True
        missing = lonely & (1 - self._sampling_fraction >= 1e-7)
        strata, without = present.sum(axis=0), (present & missing[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(strata > without, strata / (strata - without), np.nan)


def _stages(value, name: str) -> tuple:
    """The first and second stage of ``psu`` or ``fpc`` (a list of one or two, or one value)."""
    if not isinstance(value, list | tuple):
        return value, None
    if not 1 <= len(value) <= 2:
        raise DesignError(f"{name}: một hoặc hai cấp / one or two stages, not {len(value)}")
    return value[0], (value[1] if len(value) == 2 else None)


@lru_cache(maxsize=256)
def _t_quantile(alpha: float, df: int) -> float:
    """Student's t quantile for a two-sided 1 - alpha interval (NaN without degrees of freedom)."""
    return float(special.stdtrit(df, 1 - alpha / 2)) if df > 0 else np.nan


def t_quantiles(alpha: float, df: np.ndarray) -> np.ndarray:
    return np.array([_t_quantile(alpha, int(k)) for k in df], dtype=float)


def logit_interval(p: np.ndarray, se: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The logit interval for a proportion (R's ``svyciprop(method = "logit")``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(p / (1 - p))
        half = q * se / (p * (1 - p))
        low = 1 / (1 + np.exp(-(centre - half)))
        high = 1 / (1 + np.exp(-(centre + half)))
    edge = (p <= 0) | (p >= 1)
    return np.where(edge, p, low), np.where(edge, p, high)


def korn_graubard_interval(
    p: np.ndarray, variance: np.ndarray, n: np.ndarray, df: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Korn and Graubard's interval, as R's ``svyciprop(method = "beta")``; the effective
    sample size is n where the variance is zero (0% or 100%)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(variance > 0, p * (1 - p) / variance, n)
        n, df = np.asarray(n, dtype=float), np.asarray(df, dtype=float)
        valid = (n > 1) & (df > 0)
        ratio = np.full(n.shape, np.nan)
        ratio[valid] = special.stdtrit(n[valid] - 1, alpha / 2) / special.stdtrit(df[valid], alpha / 2)
        n_eff = n_eff * ratio**2
        low = special.betaincinv(n_eff * p, n_eff * (1 - p) + 1, alpha / 2)
        high = special.betaincinv(n_eff * p + 1, n_eff * (1 - p), 1 - alpha / 2)
    return np.where(p <= 0, 0.0, low), np.where(p >= 1, 1.0, high)


def t_test(estimate: float, se: float, df: int, alpha: float = 0.05) -> dict:
    """Estimate, se, t interval and two-sided p-value of a contrast against zero."""
    q = _t_quantile(alpha, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * special.stdtr(df, -abs(estimate / se)) if se > 0 and df > 0 else np.nan
    return dict(
        estimate=estimate,
        se=se,
        ci_low=estimate - q * se,
        ci_high=estimate + q * se,
        df=df,
        p_value=p_value,
        unavailable="",
    )


def _unavailable(reason: str) -> dict:
    return dict(estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan, df=0, p_value=np.nan, unavailable=reason)

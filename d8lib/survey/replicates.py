"""Replicate-weight designs, as R ``survey``'s ``svyrep.design``.

A replicate design carries, beside the full-sample weights, R columns of replicate
weights; an estimate's variance is ``scale * sum(rscales_r * (theta_r - centre)^2)``
over the estimates theta_r computed with each replicate's weights, the centre being
the mean of the replicates (or the full-sample estimate with ``mse=True``), as R's
``svrVar``. A replicate whose estimate cannot be computed (a domain with no weight in
it) is left out of that estimate, as R leaves out NA replicates.

- ``replicate(design, "jk1")``: delete one PSU at a time, the others' weights times
  n / (n - 1); scale (1 - f)(n - 1) / n. Only for a design without strata (R's
  ``as.svrepdesign(type = "JK1")``).
- ``"jkn"``: within each stratum h, delete one PSU at a time, the stratum's other PSUs
  times n_h / (n_h - 1); rscales (1 - f_h)(n_h - 1) / n_h. A stratum sampled whole
  gives no replicate; single-PSU strata follow the design's ``lonely_psu`` as R's
  ``jknweights`` does (``certainty``: none; ``scaled``: none, and the scale is
  multiplied by the number of PSUs over the number of replicates; ``centered``: one
  replicate that deletes the stratum, every other row times H / (H - 1), rscale
  (H - 1) / H).
- ``"bootstrap"``: Rao and Wu's rescaling bootstrap with n_h - 1 PSUs drawn with
  replacement in each stratum, the multiplier count * n_h / (n_h - 1) (R's
  ``type = "subbootstrap"``); scale 1 / (R - 1). ``seed`` makes it reproducible; the
  finite population correction is not used.

Only the first stage counts (as R's conversion, which drops later stages' fpc). The
degrees of freedom of a domain are the rank of its rows' replicate weights minus 1
(R's ``degf``). ``adjust_for_nonresponse`` and ``calibrate`` redo the full sample's
adjustment on every replicate, so the variance reflects them (R's ``calibrate`` on a
replicate design).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from scipy import sparse

from d8lib.survey import weighting
from d8lib.survey.design import Design, DesignError, _Linearized

GIVEN = ("jk1", "jkn", "bootstrap", "brr", "other")
BUILT = ("jk1", "jkn", "bootstrap")
RANK_TOLERANCE = 1e-5  # R's degf: qr(weights, tol = 1e-5)$rank - 1


class ReplicateDesign(Design):
    """A design whose variances come from replicate weights (``weights`` x multipliers)."""

    def __init__(
        self,
        data: pd.DataFrame,
        weight: str,
        replicate_weights: np.ndarray,
        method: str,
        scale: float,
        rscales: np.ndarray,
        mse: bool = False,
    ):
        super().__init__(data, weight, lonely_psu="certainty")
        replicate_weights = np.asarray(replicate_weights, dtype=float)
        if replicate_weights.ndim != 2 or replicate_weights.shape[0] != len(data) or replicate_weights.shape[1] < 2:
            raise DesignError("Cần ít nhất 2 cột trọng số lặp / At least 2 columns of replicate weights are needed")
        if np.isnan(replicate_weights).any() or (replicate_weights < 0).any():
            raise DesignError("Trọng số lặp thiếu hoặc âm / Replicate weights are missing or negative")
        self._replicate_weights = replicate_weights
        self.method, self.scale, self.mse = method, float(scale), bool(mse)
        self.rscales = np.broadcast_to(np.asarray(rscales, dtype=float), (replicate_weights.shape[1],)).copy()
        self.n_replicates = replicate_weights.shape[1]
        self._known_ranks: dict = {}  # degrees of freedom by the rows of a domain
        self.df = self._domain_df(np.ones((len(data), 1), dtype=bool))[0]
        self.source: Design | None = None  # the design the replicates were made from, if any

    @classmethod
    def given(
        cls,
        data: pd.DataFrame,
        weight: str,
        replicate_weights: list[str] | str,
        method: str,
        scale: float | None = None,
        rscales=None,
        mse: bool = False,
    ) -> ReplicateDesign:
        """Replicate weights given as columns of ``data`` (a list of names, or a regular
        expression that picks them, as R's ``repweights``), each a whole weight (R's
        ``combined.weights = TRUE``). Defaults as R's ``svrepdesign``: ``jk1`` scale
        (R - 1) / R; ``bootstrap`` scale 1 / (R - 1); ``brr`` scale 1 / R; ``jkn`` needs
        ``rscales``; ``other`` scale and rscales 1."""
        if method not in GIVEN:
            raise DesignError(f"method must be one of {GIVEN}, not {method!r}")
        if isinstance(replicate_weights, str):
            columns = [c for c in data.columns if pd.Series([c]).str.contains(replicate_weights).iloc[0]]
        else:
            columns = list(replicate_weights)
        absent = [c for c in columns if c not in data]
        if absent or not columns:
            raise DesignError(
                f"Không có cột trọng số lặp {absent or replicate_weights} / No replicate weights {absent}"
            )
        n = len(columns)
        if method == "jkn" and rscales is None:
            raise DesignError("jkn cần rscales / jkn needs rscales, (n_h - 1) / n_h for each replicate")
        default_scale = {"jk1": (n - 1) / n, "bootstrap": 1 / (n - 1), "brr": 1 / n}.get(method, 1.0)
        matrix = data[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        return cls(
            data,
            weight,
            matrix,
            method,
            default_scale if scale is None else scale,
            1.0 if rscales is None else rscales,
            mse,
        )

    @property
    def replicate_weights(self) -> pd.DataFrame:
        """The replicate weights in use, one column per replicate (``rep_1`` ...)."""
        names = [f"rep_{r + 1}" for r in range(self.n_replicates)]
        return pd.DataFrame(self._replicate_weights, index=self.data.index, columns=names)

    def adjust_for_nonresponse(self, responded: str, classes: list[str]) -> ReplicateDesign:
        """The full sample's and every replicate's weights adjusted for nonresponse
        (``weighting.adjust_for_nonresponse``: respondents carry the weight of the
        nonrespondents of their class, nonrespondents get 0)."""
        answered = self.data[responded]

        def adjusted(weights: np.ndarray) -> np.ndarray:
            frame = self.data[classes].assign(_weight=weights)
            return weighting.adjust_for_nonresponse(frame, "_weight", answered, classes).to_numpy()

        return self._with(adjusted(self._w), np.column_stack([adjusted(c) for c in self._replicate_weights.T]))

    def calibrate(
        self, margins: dict, method: str = "raking", max_iterations: int = 100, tolerance: float = 1e-10
    ) -> ReplicateDesign:
        """The full sample and every replicate calibrated to ``margins`` (see
        ``Design.calibrate``), as R's ``calibrate`` on a replicate design."""

        model, totals = weighting.model_matrix(self.data, margins)
        weights = np.column_stack([self._w, self._replicate_weights])
        calibrated = weights * weighting.factors(model, totals, weights, method, max_iterations, tolerance)
        return self._with(calibrated[:, 0], calibrated[:, 1:])

    def _with(self, weights: np.ndarray, replicate_weights: np.ndarray) -> ReplicateDesign:
        clone = copy.copy(self)
        clone._w, clone._replicate_weights, clone._known_ranks = weights, replicate_weights, {}
        clone.df = clone._domain_df(np.ones((len(self.data), 1), dtype=bool))[0]
        return clone

    def _linearize(self, kind, y, x, by, missing) -> tuple[pd.DataFrame, _Linearized]:
        domains, lin = super()._linearize(kind, y, x, by, missing)
        d, valid, y0, x0 = lin.rows
        rows = np.flatnonzero(valid)
        member = sparse.csr_matrix((np.ones(len(rows)), (d[rows], rows)), shape=(len(domains), len(d)))
        numerator = np.asarray(member @ (self._replicate_weights * y0[:, None])).T  # (R, D)
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "total":
                lin.replicates = numerator
            else:
                lin.replicates = numerator / np.asarray(member @ (self._replicate_weights * x0[:, None])).T
        return domains, lin

    def _covariance_factors(self, lin: _Linearized) -> tuple[np.ndarray, np.ndarray]:
        """Deviations of the replicate estimates from their centre, and the same times
        scale * rscales: the covariance is ``scaled.T @ plain`` (R's ``svrVar``)."""
        thetas = lin.replicates
        usable = np.isfinite(thetas)
        if self.mse:
            centre = lin.estimate
        else:
            counted = usable & (self.rscales > 0)[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                centre = np.where(counted, thetas, 0.0).sum(axis=0) / counted.sum(axis=0)
        deviations = np.where(usable, thetas - centre[None, :], 0.0)
        return deviations * (self.scale * self.rscales)[:, None], deviations

    def _domain_df(self, holds: np.ndarray) -> np.ndarray:
        """The rank of each domain's rows' replicate weights, minus 1 (R's ``degf``),
        computed once per set of rows."""
        known = self._known_ranks
        result = []
        for column in holds.T.astype(bool):
            key = hash(np.packbits(column).tobytes())
            if key not in known:
                known[key] = _rank(self._replicate_weights[column]) - 1
            result.append(known[key])
        return np.array(result)

    def replicates(self, method: str = "jkn", replicates: int | None = None, seed: int | None = None):
        raise DesignError("Thiết kế đã có trọng số lặp / The design already has replicate weights")


def _rank(matrix: np.ndarray) -> int:
    """The rank as R's ``qr(x, tol = 1e-5)`` counts it (LINPACK's dqrdc2): the columns, in
    order, whose part orthogonal to the columns kept before them has at least 1e-5 of
    their own norm."""
    columns = np.ascontiguousarray(matrix.T)
    basis, kept = np.empty_like(columns), 0  # the first ``kept`` rows: orthonormal
    for column in columns:
        norm = np.sqrt(column @ column)
        previous = basis[:kept]
        left = column - (previous @ column) @ previous
        left = left - (previous @ left) @ previous  # twice is enough (Kahan)
        length = np.sqrt(left @ left)
        if norm > 0 and length >= RANK_TOLERANCE * norm:
            basis[kept] = left / length
            kept += 1
    return kept


def replicate(design: Design, method: str, replicates: int | None, seed: int | None) -> ReplicateDesign:
    """``design`` with replicate weights of ``method`` (see the module's notes)."""
    if method not in BUILT:
        raise DesignError(f"method must be one of {BUILT}, not {method!r}")
    if design._calibration is not None:
        raise DesignError(
            "Hãy tạo trọng số lặp trước rồi mới hiệu chỉnh / Make the replicates first, then calibrate the replicate design"
        )
    psu, stratum = design._psu, design._psu_stratum
    fraction = design._sampling_fraction
    n_h = design._psus_in_stratum
    if method == "jk1":
        if design.n_strata > 1:
            raise DesignError("JK1 chỉ dùng khi không phân tầng / JK1 is for a design without strata: use 'jkn'")
        n = design.n_psu
        multipliers = np.full((n, n), n / (n - 1))
        np.fill_diagonal(multipliers, 0.0)
        scale, rscales = (1 - fraction[0]) * (n - 1) / n, np.ones(n)
    elif method == "jkn":
        multipliers, scale, rscales = _jackknife_by_stratum(design.lonely_psu, stratum, fraction, n_h, design)
    else:
        multipliers = _rao_wu(stratum, n_h, replicates or 50, np.random.default_rng(seed), design)
        scale, rscales = 1 / (multipliers.shape[1] - 1), np.ones(multipliers.shape[1])
    weights = design._w[:, None] * multipliers[psu]
    result = ReplicateDesign(design.data, design.weight, weights, method, scale, rscales)
    result.source = design  # the sample's strata and PSUs, for the record
    return result


def _jackknife_by_stratum(
    lonely_psu: str, stratum: np.ndarray, fraction: np.ndarray, n_h: np.ndarray, design: Design
) -> tuple[np.ndarray, float, np.ndarray]:
    """PSU multipliers (PSUs x replicates), scale and rscales of R's ``jknweights``."""
    columns, rscales = [], []
    n_strata = len(n_h)
    for h in range(n_strata):
        members = np.flatnonzero(stratum == h)
        if fraction[h] >= 1:  # sampled whole: no variance, no replicate
            continue
        if n_h[h] == 1:
            if lonely_psu == "centered":
                column = np.where(stratum == h, 0.0, n_strata / (n_strata - 1))
                columns.append(column)
                rscales.append((n_strata - 1) / n_strata)
            continue  # certainty and scaled: no replicate (scaled widens the scale below)
        for j in members:
            column = np.ones(len(stratum))
            column[members] = n_h[h] / (n_h[h] - 1)
            column[j] = 0.0
            columns.append(column)
            rscales.append((1 - fraction[h]) * (n_h[h] - 1) / n_h[h])
    if not columns:
        raise DesignError("Mọi tầng được điều tra toàn bộ / Every stratum was sampled whole: there is no variance")
    scale = 1.0
    if lonely_psu == "scaled" and len(columns) < design.n_psu:
        scale = design.n_psu / len(columns)
    return np.column_stack(columns), scale, np.array(rscales)


def _rao_wu(
    stratum: np.ndarray, n_h: np.ndarray, replicates: int, rng: np.random.Generator, design: Design
) -> np.ndarray:
    """Rao-Wu multipliers (PSUs x replicates): n_h - 1 PSUs drawn with replacement in
    each stratum, each draw counting n_h / (n_h - 1)."""
    if replicates < 2:
        raise DesignError("Cần ít nhất 2 mẫu lặp / At least 2 replicates are needed")
    multipliers = np.ones((len(stratum), replicates))
    for h, n in enumerate(n_h):
        members = np.flatnonzero(stratum == h)
        if n == 1:
            if design.lonely_psu != "certainty":
                raise DesignError(
                    "Bootstrap không dùng được với tầng chỉ có một PSU; chọn lonely_psu='certainty' / "
                    "The bootstrap cannot resample a stratum with a single PSU: choose lonely_psu='certainty'"
                )
            continue
        draws = rng.integers(0, n, size=(replicates, n - 1))
        counts = np.stack([np.bincount(row, minlength=n) for row in draws], axis=1)  # (n, R)
        multipliers[members] = counts * n / (n - 1)
    return multipliers

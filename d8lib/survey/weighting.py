"""Survey weights after fieldwork: nonresponse adjustment and calibration to known
population totals.

``adjust_for_nonresponse`` spreads the weight of sampled people who did not respond
over the respondents of their adjustment class (their village; the stratum where a
village has no respondent). ``calibrate`` finds the factors g that make the weighted
sample reproduce population totals (raking or linear, as R's ``calibrate``); the
``Design`` uses the returned ``Calibration`` to compute variances from calibration
residuals. ``margins_from_totals`` turns a table of population totals into margins,
collapsing cells the sample cannot support.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, sparse

METHODS = ("raking", "linear")


class CalibrationError(ValueError):
    """Totals the sample cannot be calibrated to."""


@dataclass
class Calibration:
    """Calibration factors ``g`` and what the variance needs: the model matrix of the
    calibration variables (rows x levels) and the design weights before calibration."""

    g: np.ndarray
    model: np.ndarray
    design_weights: np.ndarray
    inverse: np.ndarray  # generalised inverse of X' W0 X

    def coefficients(self, u: np.ndarray, domain: np.ndarray, valid: np.ndarray, n_domains: int) -> np.ndarray:
        """Regression coefficients (levels x domains) of each domain's linearised values
        on the calibration variables, weighted by the design weights."""
        rows = np.flatnonzero(valid)
        values = sparse.csr_matrix(
            (self.design_weights[rows] * u[rows], (rows, domain[rows])), shape=(len(u), n_domains)
        )
        return self.inverse @ np.asarray((values.T @ self.model).T)


def model_matrix(data: pd.DataFrame, margins: dict) -> tuple[np.ndarray, np.ndarray]:
    """Indicator columns of every level of every margin ({column: {level: total}}), and
    the population totals."""
    columns, totals, sums = [], [], {}
    for column, levels in margins.items():
        if column not in data:
            raise CalibrationError(f"Không có cột «{column}» để hiệu chỉnh / No column '{column}' to calibrate on")
        names = list(levels)
        known = data[column].isin(names)
        codes = np.where(known, pd.Categorical(data[column].where(known), categories=names).codes, -1)
        unknown = data[column][~known]
        if len(unknown):
            values = ", ".join(map(str, unknown.astype(str).value_counts().index[:5]))
            raise CalibrationError(
                f"Cột «{column}»: {len(unknown)} dòng có giá trị không có tổng dân số ({values}) / "
                f"Column '{column}': {len(unknown)} rows have a level without a population total "
                f"({values})"
            )
        counts = np.bincount(codes, minlength=len(names))
        empty = [str(n) for n, c in zip(names, counts) if c == 0 and levels[n] > 0]
        if empty:
            raise CalibrationError(
                f"Cột «{column}»: không có người trả lời ở {', '.join(empty)} / "
                f"Column '{column}': no respondent in {', '.join(empty)}"
            )
        columns.append(np.eye(len(names))[codes])
        totals.extend(float(levels[n]) for n in names)
        sums[column] = float(sum(levels.values()))
    if max(sums.values()) - min(sums.values()) > 1e-9 * max(sums.values()):
        raise CalibrationError(f"Các biên có tổng khác nhau / The margins add up to different totals: {sums}")
    return np.hstack(columns), np.array(totals)


def calibrate(
    data: pd.DataFrame,
    weights: np.ndarray,
    margins: dict,
    method: str = "raking",
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> Calibration:
    """Calibration factors for ``weights`` so that they reproduce ``margins``
    ({column: {level: total}}); see ``factors``."""
    model, totals = model_matrix(data, margins)
    g = factors(model, totals, weights[:, None], method, max_iterations, tolerance)[:, 0]
    inverse = np.linalg.pinv(model.T @ (weights[:, None] * model), rcond=1e-10, hermitian=True)
    return Calibration(g, model, weights, inverse)


def factors(
    model: np.ndarray,
    totals: np.ndarray,
    weights: np.ndarray,
    method: str = "raking",
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> np.ndarray:
    """The factors g (rows x sets) that calibrate each column of ``weights`` (rows x
    sets, e.g. a replicate's weights each) so that ``model`` reproduces ``totals``:
    raking (g = exp(x'η)) or linear (g = 1 + x'λ), solved by Newton's method as R's
    ``grake``, all sets at once; converged when every total of every set is met to
    ``tolerance`` relative to 1 + |total|."""
    if method not in METHODS:
        raise CalibrationError(f"method must be one of {METHODS}, not {method!r}")

    products, kept = _cross_products(model), _independent_columns(model)
    k, r = model.shape[1], len(kept)
    reduced, kept_products = model[:, kept], products[(kept[:, None] * k + kept[None, :]).ravel()]

    def step(weighted: np.ndarray, misfit: np.ndarray) -> np.ndarray:
        """Newton's step in the independent columns; a set whose X' diag(w) X is singular
        (a replicate without anyone of a level) takes the generalised inverse instead."""
        hessians = np.asarray(kept_products @ weighted).T.reshape(-1, r, r)  # sets x r x r: X' diag(w) X
        try:
            return np.linalg.solve(hessians, misfit[kept].T[:, :, None])[:, :, 0].T
        except np.linalg.LinAlgError:
            return (np.linalg.pinv(hessians, rcond=1e-10, hermitian=True) @ misfit[kept].T[:, :, None])[:, :, 0].T

    wanted = totals[:, None]
    if method == "linear":
        return 1 + reduced @ step(weights, wanted - model.T @ weights)
    eta = np.zeros((r, weights.shape[1]))
    for _ in range(max_iterations):
        g = np.exp(reduced @ eta)
        misfit = wanted - model.T @ (weights * g)
        if (np.abs(misfit) / (1 + np.abs(wanted)) < tolerance).all():
            return g
        eta = eta + step(weights * g, misfit)
    raise CalibrationError(
        f"Hiệu chỉnh không hội tụ sau {max_iterations} vòng / "
        f"Calibration did not converge in {max_iterations} iterations"
    )


def _independent_columns(model: np.ndarray) -> np.ndarray:
    """Columns of the model that span its column space, in order (a margin's levels add
    up to the same column as another margin's: one level of each margin but the first is
    redundant). The totals of the others follow, since every margin has the same sum."""
    triangle, order = linalg.qr(model, mode="r", pivoting=True)
    diagonal = np.abs(np.diag(triangle))
    return np.sort(order[: int((diagonal > 1e-10 * diagonal[0]).sum())]) if len(diagonal) else order


def _cross_products(model: np.ndarray) -> sparse.csr_matrix:
    """The sparse map P (k² x rows) with P @ w = vec(X' diag(w) X) for the model X: each
    row's products x_k x_l of its non-zero entries. A margin's indicator columns hold one
    non-zero per row, so P is small and X' diag(w) X of many weight sets costs little."""
    entries = sparse.csr_matrix(model).tocoo()
    cells = pd.DataFrame({"row": entries.row, "column": entries.col, "value": entries.data})
    pairs = cells.merge(cells, on="row")
    k = model.shape[1]
    return sparse.csr_matrix(
        (pairs.value_x * pairs.value_y, (pairs.column_x * k + pairs.column_y, pairs.row)), shape=(k * k, len(model))
    )


def adjust_for_nonresponse(data: pd.DataFrame, weight: str, responded: pd.Series, classes: list[str]) -> pd.Series:
    """Weights of respondents raised by the weight of the nonrespondents of their
    class; nonrespondents get 0. ``classes`` are tried in order (e.g. village, then
    stratum): weight that finds no respondent in its village moves to the respondents
    of its stratum."""
    w = data[weight].astype(float)
    responded = responded.astype(bool)
    adjusted = w.where(responded, 0.0)
    to_place = w.where(~responded, 0.0)
    for column in classes:
        receiving = adjusted.groupby(data[column]).transform("sum")
        moving = to_place.groupby(data[column]).transform("sum")
        placed = receiving > 0
        adjusted = adjusted.where(~placed, adjusted * (receiving + moving) / receiving)
        to_place = to_place.where(~placed, 0.0)
    if (to_place > 0).any():
        raise CalibrationError(
            f"{int((to_place > 0).sum())} người được chọn không thuộc nhóm nào có người trả lời / "
            f"{int((to_place > 0).sum())} sampled people are in no class with a respondent"
        )
    return adjusted.rename(weight)


def margins_from_totals(
    totals: pd.DataFrame, sample: pd.DataFrame, margins: list[list[str]], minimum: int, value: str = "population"
) -> tuple[pd.DataFrame, dict]:
    """Calibration margins from a table of population totals.

    ``margins`` lists the column combinations to calibrate on (e.g. [["district",
    "ethnicity"], ["age_group"]]). In a combination of several columns, the cells with
    fewer than ``minimum`` respondents are merged into one "other" cell of their group
    (the cell's values but the last; with the group's smallest cell too while that is
    still too small).
    Returns the sample with one key column per margin, named "calibration:" and the
    columns, and the margins ({key column: {cell: total}}) for ``Design.calibrate``.
    """
    keyed = sample.copy()
    result = {}
    for columns in margins:
        name = "calibration:" + "×".join(columns)
        population = totals.groupby(columns, observed=True)[value].sum()
        counts = sample.groupby(columns, observed=True).size().reindex(population.index, fill_value=0)
        own = _labels(population.index.to_frame(index=False), columns)
        cell = _collapse(own, counts, minimum) if len(columns) > 1 else own
        result[name] = population.groupby(cell).sum().to_dict()
        lookup = dict(zip(own, cell))
        keyed[name] = [lookup.get(label, label) for label in _labels(keyed, columns)]
    return keyed, result


def _labels(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Each row's cell label: its values in ``columns`` joined by "|"."""
    values = [frame[column].to_numpy(dtype=object) for column in columns]
    return ["|".join(map(str, key)) for key in zip(*values)]


def _collapse(cell: list[str], counts: pd.Series, minimum: int) -> list[str]:
    """Merge the small cells of each group (all levels but the last) into "<group>|other"."""
    cell = list(cell)
    n = counts.to_numpy()
    groups, names = pd.factorize(counts.index.droplevel(-1))
    for code, group in enumerate(names):
        part = np.flatnonzero(groups == code)
        small, rest = part[n[part] < minimum], part[n[part] >= minimum]
        if not len(small):
            continue
        members = list(small)
        if n[small].sum() < minimum and len(rest):
            members.append(rest[np.argmin(n[rest])])
        other = "|".join(map(str, group if isinstance(group, tuple) else (group,))) + "|other"
        for member in members:
            cell[member] = other
    return cell

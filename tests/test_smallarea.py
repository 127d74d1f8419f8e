"""The Fay-Herriot model against published values (R ``sae`` and samplics on the milk
data), samplics itself, and the likelihood it maximises."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from d8lib.survey.smallarea import ModelError, benchmark, fay_herriot


@pytest.fixture(scope="module")
def milk():
    """Expenditure on milk in 43 small areas of 4 major areas (Arora and Lahiri 1997), as
    samplics ships it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # samplics says it is archived
        import samplics
    data = pd.read_csv(Path(samplics.__file__).parent / "datasets" / "data" / "expenditure_on_milk.csv")
    return data.set_index("small_area")


def _covariates(milk):
    return pd.get_dummies(milk.major_area, prefix="major", drop_first=True).astype(float)


def test_reml_equals_the_published_values(milk):
    """samplics' test values (R sae's eblupFH): beta 0.9681890, 0.1327801, 0.2269462,
    -0.2413011; area 1: EBLUP 1.0219703, MSE 0.013460220 (fitted to a tolerance of 1e-4)."""
    fit = fay_herriot(milk.direct_est, milk.std_error**2, _covariates(milk), method="REML")
    assert fit.beta.to_numpy() == pytest.approx([0.9681890, 0.1327801, 0.2269462, -0.2413011], abs=5e-7)
    first = fit.areas.set_index("area").loc[1]
    assert first.eblup == pytest.approx(1.0219703, abs=5e-7)
    assert first.mse == pytest.approx(0.013460220, abs=1e-7)


def test_reml_equals_samplics_fitted_to_convergence(milk):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from samplics.sae import EblupAreaModel
        from samplics.utils.types import FitMethod
    X = _covariates(milk)
    theirs = EblupAreaModel(method=FitMethod.reml)
    theirs.fit(yhat=milk.direct_est, X=X.values, area=milk.index, error_std=milk.std_error, tol=1e-10)
    theirs.predict(X=X.values, area=milk.index)
    ours = fay_herriot(milk.direct_est, milk.std_error**2, X, method="REML")
    assert ours.beta.to_numpy() == pytest.approx(theirs.fixed_effects, rel=1e-8)
    assert ours.sigma2_u == pytest.approx(theirs.re_std**2, rel=1e-8)
    areas = ours.areas.set_index("area")
    for area in milk.index:
        assert areas.eblup[area] == pytest.approx(theirs.area_est[area], rel=1e-9)
        assert areas.mse[area] == pytest.approx(theirs.area_mse[area], rel=1e-7)


def test_ml_maximises_the_likelihood(milk):
    """The ML estimate of sigma2_u is where the profile log-likelihood peaks (worked out
    here from its formula, not from the fit), and each EBLUP is the shrinkage formula."""
    X = _covariates(milk)
    fit = fay_herriot(milk.direct_est, milk.std_error**2, X, method="ML")
    y, D = milk.direct_est.to_numpy(), (milk.std_error**2).to_numpy()
    design = np.column_stack([np.ones(len(y)), X.to_numpy()])

    def loglik(s2):
        v = s2 + D
        beta = np.linalg.solve((design.T / v) @ design, (design.T / v) @ y)
        return -0.5 * (np.log(v).sum() + ((y - design @ beta) ** 2 / v).sum())

    peak = loglik(fit.sigma2_u)
    assert peak > loglik(fit.sigma2_u * 0.99) and peak > loglik(fit.sigma2_u * 1.01)
    first = fit.areas.set_index("area").loc[1]
    gamma = fit.sigma2_u / (fit.sigma2_u + D[0])
    assert first.gamma == pytest.approx(gamma, rel=1e-12)
    assert first.eblup == pytest.approx(gamma * y[0] + (1 - gamma) * fit.beta.iloc[0], rel=1e-12)


def test_an_area_without_a_direct_estimate_gets_the_synthetic_one(milk):
    direct = milk.direct_est.copy()
    direct.iloc[0] = np.nan
    fit = fay_herriot(direct, milk.std_error**2, _covariates(milk))
    first = fit.areas.set_index("area").loc[1]
    x = np.array([1.0, 0.0, 0.0, 0.0])  # major area 1: the intercept alone
    assert first.eblup == pytest.approx(fit.beta.iloc[0], rel=1e-12) and first.gamma == 0
    assert first.mse == pytest.approx(fit.sigma2_u + x @ fit.beta_cov.to_numpy() @ x, rel=1e-12)


def test_benchmarking_meets_the_direct_estimate_of_the_whole():
    estimates = pd.Series([0.2, 0.4, 0.5], index=["a", "b", "c"])
    shares = pd.Series([0.5, 0.3, 0.2], index=["a", "b", "c"])
    scaled = benchmark(estimates, shares, 0.36)  # 0.36 / (0.1 + 0.12 + 0.1) = 1.125
    assert scaled.to_dict() == pytest.approx({"a": 0.225, "b": 0.45, "c": 0.5625}, rel=1e-12)


def test_too_few_areas_are_refused():
    covariates = pd.DataFrame({"x": [0.0, 1.0]}, index=["a", "b"])
    with pytest.raises(ModelError, match="2 areas"):
        fay_herriot(pd.Series([0.1, 0.2], index=["a", "b"]), pd.Series([0.01, 0.01], index=["a", "b"]), covariates)

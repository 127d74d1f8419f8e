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


def _direct(estimate: pd.Series, variance: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"area": estimate.index, "estimate": estimate.to_numpy(), "variance": variance.to_numpy()})


def test_reml_equals_the_published_values(milk):
    """samplics' test values (R sae's eblupFH): beta 0.9681890, 0.1327801, 0.2269462,
    -0.2413011; area 1: EBLUP 1.0219703, MSE 0.013460220 (fitted to a tolerance of 1e-4)."""
    fit = fay_herriot(_direct(milk.direct_est, milk.std_error**2), _covariates(milk), method="REML")
    assert np.array(list(fit.attrs["beta"].values())) == pytest.approx(
        [0.9681890, 0.1327801, 0.2269462, -0.2413011], abs=5e-7
    )
    first = fit.set_index("area").loc[1]
    assert first.estimate == pytest.approx(1.0219703, abs=5e-7)
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
    ours = fay_herriot(_direct(milk.direct_est, milk.std_error**2), X, method="REML")
    assert np.array(list(ours.attrs["beta"].values())) == pytest.approx(theirs.fixed_effects, rel=1e-8)
    assert ours.attrs["sigma2_u"] == pytest.approx(theirs.re_std**2, rel=1e-8)
    areas = ours.set_index("area")
    for area in milk.index:
        assert areas.estimate[area] == pytest.approx(theirs.area_est[area], rel=1e-9)
        assert areas.mse[area] == pytest.approx(theirs.area_mse[area], rel=1e-7)


def test_ml_maximises_the_likelihood(milk):
    """The ML estimate of sigma2_u is where the profile log-likelihood peaks (worked out
    here from its formula, not from the fit), and each EBLUP is the shrinkage formula."""
    X = _covariates(milk)
    fit = fay_herriot(_direct(milk.direct_est, milk.std_error**2), X, method="ML")
    y, D = milk.direct_est.to_numpy(), (milk.std_error**2).to_numpy()
    design = np.column_stack([np.ones(len(y)), X.to_numpy()])

    def loglik(s2):
        v = s2 + D
        beta = np.linalg.solve((design.T / v) @ design, (design.T / v) @ y)
        return -0.5 * (np.log(v).sum() + ((y - design @ beta) ** 2 / v).sum())

    peak = loglik(fit.attrs["sigma2_u"])
    assert peak > loglik(fit.attrs["sigma2_u"] * 0.99) and peak > loglik(fit.attrs["sigma2_u"] * 1.01)
    first = fit.set_index("area").loc[1]
    gamma = fit.attrs["sigma2_u"] / (fit.attrs["sigma2_u"] + D[0])
    assert first.shrinkage == pytest.approx(gamma, rel=1e-12)
    assert first.estimate == pytest.approx(gamma * y[0] + (1 - gamma) * fit.attrs["beta"]["intercept"], rel=1e-12)


def test_an_area_without_a_direct_estimate_gets_the_synthetic_one(milk):
    direct = milk.direct_est.copy()
    direct.iloc[0] = np.nan
    fit = fay_herriot(_direct(direct, milk.std_error**2), _covariates(milk))
    first = fit.set_index("area").loc[1]
    x = np.array([1.0, 0.0, 0.0, 0.0])  # major area 1: the intercept alone
    assert first.estimate == pytest.approx(fit.attrs["beta"]["intercept"], rel=1e-12) and first.shrinkage == 0
    assert first.mse == pytest.approx(
        fit.attrs["sigma2_u"] + x @ pd.DataFrame(fit.attrs["beta_cov"]).to_numpy() @ x, rel=1e-12
    )


def test_benchmarking_meets_the_direct_estimate_of_the_whole():
    estimates = pd.Series([0.2, 0.4, 0.5], index=["a", "b", "c"])
    shares = pd.Series([0.5, 0.3, 0.2], index=["a", "b", "c"])
    scaled = benchmark(estimates, shares, 0.36)  # 0.36 / (0.1 + 0.12 + 0.1) = 1.125
    assert scaled.to_dict() == pytest.approx({"a": 0.225, "b": 0.45, "c": 0.5625}, rel=1e-12)


def test_too_few_areas_are_refused():
    covariates = pd.DataFrame({"x": [0.0, 1.0]}, index=["a", "b"])
    with pytest.raises(ModelError, match="2 areas"):
        fay_herriot(
            _direct(pd.Series([0.1, 0.2], index=["a", "b"]), pd.Series([0.01, 0.01], index=["a", "b"])), covariates
        )


def _communes():
    """60 communes whose direct estimates, variances and two covariates follow fixed
    formulas (no random draw)."""
    k = np.arange(60)
    covariates = pd.DataFrame(
        {"area": [f"c{i:02d}" for i in k], "remote": (k % 3 == 0).astype(float), "minority": 0.2 + 0.6 * (k % 7) / 6}
    )
    variance = 0.002 + 0.004 * (k % 5) / 4
    estimate = 0.35 + 0.2 * covariates.minority - 0.1 * covariates.remote + 0.08 * np.sin(1.7 * k)
    return pd.DataFrame({"area": covariates.area, "estimate": estimate, "variance": variance}), covariates


def test_reml_equals_samplics_on_communes_of_our_own():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from samplics.sae import EblupAreaModel
        from samplics.utils.types import FitMethod
    direct, covariates = _communes()
    X, area = covariates[["remote", "minority"]].to_numpy(), covariates.area.to_numpy()
    theirs = EblupAreaModel(method=FitMethod.reml)
    theirs.fit(yhat=direct.estimate.to_numpy(), X=X, area=area, error_std=np.sqrt(direct.variance), tol=1e-10)
    theirs.predict(X=X, area=area)
    ours = fay_herriot(direct, covariates, method="REML")
    assert np.array(list(ours.attrs["beta"].values())) == pytest.approx(theirs.fixed_effects, rel=1e-7)
    assert ours.attrs["sigma2_u"] == pytest.approx(theirs.re_std**2, rel=1e-7)
    by_area = ours.set_index("area")
    for name in area:
        assert by_area.estimate[name] == pytest.approx(theirs.area_est[name], rel=1e-8), name
        assert by_area.mse[name] == pytest.approx(theirs.area_mse[name], rel=1e-6), name
    assert (by_area.ci_high - by_area.ci_low).to_numpy() == pytest.approx(2 * 1.959963985 * np.sqrt(by_area.mse))


def test_ml_on_communes_of_our_own_is_the_likelihood_peak():
    """samplics' ML stops short here (sigma2_u 1.171e-4, log-likelihood 140.49841); the
    profile log-likelihood, worked out from its formula, peaks at ours (1.234e-4, 140.49847)."""
    direct, covariates = _communes()
    fit = fay_herriot(direct, covariates, method="ML")
    y, D = direct.estimate.to_numpy(), direct.variance.to_numpy()
    design = np.column_stack([np.ones(len(y)), covariates[["remote", "minority"]].to_numpy()])

    def loglik(s2):
        v = s2 + D
        beta = np.linalg.solve((design.T / v) @ design, (design.T / v) @ y)
        return -0.5 * (np.log(v).sum() + ((y - design @ beta) ** 2 / v).sum())

    peak = fit.attrs["sigma2_u"]
    assert peak == pytest.approx(1.234e-4, rel=1e-3)
    assert loglik(peak) > max(loglik(peak * 0.999), loglik(peak * 1.001), loglik(1.1713e-4))

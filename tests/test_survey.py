"""The survey engine against Stata's published figures, samplics, hand calculations
and a coverage simulation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from d8lib.survey.design import Design, DesignError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # samplics announces that it is archived
    import samplics
    from samplics import PopParam, TaylorEstimator

REL = 1e-9


def _data(loader) -> pd.DataFrame:
    data = loader()["data"]
    return data.to_pandas() if hasattr(data, "to_pandas") else data


@pytest.fixture(scope="module")
def nhanes() -> pd.DataFrame:
    # The bundled file itself: samplics' loader leaves out the region column.
    return pd.read_csv(Path(samplics.datasets.__file__).parent / "data" / "nhanes2.csv")


def samplics_estimate(param, y, weight, stratum=None, psu=None, domain=None, x=None, fpc=1.0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = TaylorEstimator(param)
        est.estimate(y=y, samp_weight=weight, stratum=stratum, psu=psu, domain=domain, x=x, fpc=fpc)
    return est


def test_nhanes2_mean_zinc_matches_the_stata_manual(nhanes):
    # Stata [SVY] manual, svy: mean zinc on NHANES II: 87.18207, linearised SE .4944827.
    result = Design(nhanes, "finalwgt", "stratid", "psuid").mean("zinc", missing="exclude").iloc[0]
    assert result.estimate == pytest.approx(87.18207, abs=5e-6)
    assert result.se == pytest.approx(0.4944827, abs=5e-8)
    assert result.df == 31 and result.n == 9189 and result.n_missing == 1148


@pytest.mark.parametrize("column", ["zinc", "highbp", "highlead", "diabetes"])
def test_nhanes2_means_agree_with_samplics(nhanes, column):
    ours = Design(nhanes, "finalwgt", "stratid", "psuid").mean(column, missing="exclude").iloc[0]
    keep = nhanes[column].notna()
    theirs = samplics_estimate(
        PopParam.mean, nhanes[column][keep], nhanes.finalwgt[keep], nhanes.stratid[keep], nhanes.psuid[keep]
    )
    assert ours.estimate == pytest.approx(theirs.point_est, rel=REL)
    assert ours.se == pytest.approx(theirs.stderror, rel=REL)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((theirs.lower_ci, theirs.upper_ci), rel=REL)


@pytest.mark.parametrize("domain", ["race", "region"])
def test_nhanes2_domain_proportions_agree_with_samplics(nhanes, domain):
    ours = Design(nhanes, "finalwgt", "stratid", "psuid").mean("highbp", by=domain, ci="logit")
    theirs = samplics_estimate(
        PopParam.prop, nhanes.highbp, nhanes.finalwgt, nhanes.stratid, nhanes.psuid, domain=nhanes[domain]
    )
    for row in ours.itertuples():
        key = row[1]
        assert row.estimate == pytest.approx(theirs.point_est[key][1], rel=REL)
        assert row.se == pytest.approx(theirs.stderror[key][1], rel=REL)
        # samplics gives every domain the whole design's degrees of freedom; ours are
        # the domain's, as R's (tests/test_survey_r.py), so only full-design domains agree.
        if row.df == 31:
            assert (row.ci_low, row.ci_high) == pytest.approx(
                (theirs.lower_ci[key][1], theirs.upper_ci[key][1]), rel=REL
            )


def test_nhanes2_domain_totals_and_ratios_agree_with_samplics(nhanes):
    design = Design(nhanes, "finalwgt", "stratid", "psuid")
    totals = design.total("highbp", by="race")
    theirs = samplics_estimate(
        PopParam.total, nhanes.highbp, nhanes.finalwgt, nhanes.stratid, nhanes.psuid, domain=nhanes.race
    )
    for row in totals.itertuples():
        assert row.estimate == pytest.approx(theirs.point_est[row.race], rel=REL)
        assert row.se == pytest.approx(theirs.stderror[row.race], rel=REL)
    data = nhanes.dropna(subset=["highbp", "diabetes"])
    ratio = Design(data, "finalwgt", "stratid", "psuid").ratio("highbp", "diabetes", by="region")
    theirs = samplics_estimate(
        PopParam.ratio, data.highbp, data.finalwgt, data.stratid, data.psuid, domain=data.region, x=data.diabetes
    )
    for row in ratio.itertuples():
        assert row.estimate == pytest.approx(theirs.point_est[row.region], rel=REL)
        assert row.se == pytest.approx(theirs.stderror[row.region], rel=REL)


def test_other_bundled_datasets_agree_with_samplics():
    nmihs = _data(samplics.load_nmihs)
    ours = Design(nmihs, "finalwgt").mean("birth_weight").iloc[0]
    theirs = samplics_estimate(PopParam.mean, nmihs.birth_weight, nmihs.finalwgt)
    assert (ours.estimate, ours.se) == pytest.approx((theirs.point_est, theirs.stderror), rel=REL)

    auto = _data(samplics.load_auto).assign(w=1.0)
    ours = Design(auto, "w").mean("mpg", by="foreign")
    theirs = samplics_estimate(PopParam.mean, auto.mpg, auto.w, domain=auto.foreign)
    for row in ours.itertuples():
        assert (row.estimate, row.se) == pytest.approx(
            (theirs.point_est[row.foreign], theirs.stderror[row.foreign]), rel=REL
        )

    birth = _data(samplics.load_birth).assign(first=lambda d: (d.birthcat == 1).astype(float))
    ours = Design(birth, "pop", strata="region").mean("first", by="agecat")
    theirs = samplics_estimate(PopParam.mean, birth["first"], birth["pop"], stratum=birth.region, domain=birth.agecat)
    for row in ours.itertuples():
        assert (row.estimate, row.se) == pytest.approx(
            (theirs.point_est[row.agecat], theirs.stderror[row.agecat]), rel=REL
        )


# A small design worked by hand: two strata, PSUs of two or three rows.
SMALL = pd.DataFrame(
    {
        "stratum": ["A"] * 6 + ["B"] * 5,
        "psu": [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 2],
        "w": [2.0, 2, 3, 3, 1, 1, 4, 4, 2, 2, 2],
        "y": [1.0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0],
        "N": [10] * 6 + [4] * 5,  # population PSUs per stratum
    }
)


def test_hand_calculation_with_finite_population_correction():
    # Mean: sum(w y) / sum(w) = (2 + 6 + 8 + 2) / (12 + 14) = 18 / 26.
    p = 18 / 26
    w, y = SMALL.w.to_numpy(), SMALL.y.to_numpy()
    z = w * (y - p) / 26
    # PSU totals of the influence values, by hand from the table above.
    a = [z[0] + z[1], z[2] + z[3], z[4] + z[5]]
    b = [z[6] + z[7], z[8] + z[9] + z[10]]
    var_a = (1 - 3 / 10) * 3 / 2 * sum((t - sum(a) / 3) ** 2 for t in a)
    var_b = (1 - 2 / 4) * 2 / 1 * sum((t - sum(b) / 2) ** 2 for t in b)
    result = Design(SMALL, "w", "stratum", "psu", fpc="N").mean("y").iloc[0]
    assert result.estimate == pytest.approx(p, rel=1e-12)
    assert result.se == pytest.approx(np.sqrt(var_a + var_b), rel=1e-12)
    assert result.df == 5 - 2
    # The same correction given as sampling fractions, and against samplics' factor.
    fractions = SMALL.assign(f=SMALL.stratum.map({"A": 0.3, "B": 0.5}))
    assert Design(fractions, "w", "stratum", "psu", fpc="f").mean("y").se.iloc[0] == pytest.approx(result.se, rel=1e-12)
    theirs = samplics_estimate(PopParam.mean, SMALL.y, SMALL.w, SMALL.stratum, SMALL.psu, fpc={"A": 0.7, "B": 0.5})
    assert result.se == pytest.approx(theirs.stderror, rel=REL)


def test_total_and_ratio_by_hand():
    design = Design(SMALL, "w", "stratum", "psu")
    total = design.total("y").iloc[0]
    assert total.estimate == pytest.approx(18.0)
    a = [2 * 1 + 2 * 0, 3 + 3, 0.0]
    b = [4 + 4, 2 * 1]
    var = 3 / 2 * sum((t - sum(a) / 3) ** 2 for t in a) + 2 * sum((t - sum(b) / 2) ** 2 for t in b)
    assert total.se == pytest.approx(np.sqrt(var), rel=1e-12)
    ratio = design.ratio("y", "w").iloc[0]  # sum(w y) / sum(w w)
    assert ratio.estimate == pytest.approx(18 / float((SMALL.w**2).sum()), rel=1e-12)


def test_domains_are_subpopulations_not_dropped_rows():
    design = Design(SMALL, "w", "stratum", "psu")
    in_domain = SMALL.assign(d=np.where(SMALL.psu == 1, "x", "y"))
    by_domain = Design(in_domain, "w", "stratum", "psu").mean("y", by="d").set_index("d")
    dropped = Design(in_domain[in_domain.d == "x"], "w", "stratum", "psu", lonely_psu="certainty").mean("y")
    # Same point estimate, but the subpopulation keeps the PSUs with no domain member.
    assert by_domain.estimate["x"] == pytest.approx(dropped.estimate.iloc[0])
    assert by_domain.se["x"] != pytest.approx(dropped.se.iloc[0])
    # Each domain has the degrees of freedom of the PSUs holding it: "x" is PSU 1 of
    # both strata (2 PSUs - 2 strata), "y" PSUs 2 and 3 of A and 2 of B (3 - 2).
    assert design.df == 3 and by_domain.df.to_dict() == {"x": 0, "y": 1}
    theirs = samplics_estimate(
        PopParam.mean, in_domain.y, in_domain.w, in_domain.stratum, in_domain.psu, domain=in_domain.d
    )
    assert by_domain.se["x"] == pytest.approx(theirs.stderror["x"], rel=REL)


def test_single_psu_strata():
    lonely = pd.concat(
        [SMALL, pd.DataFrame({"stratum": ["C", "C"], "psu": [1, 1], "w": [1.0, 1.0], "y": [1.0, 0.0], "N": [5, 5]})],
        ignore_index=True,
    )
    with pytest.raises(DesignError, match="C"):
        Design(lonely, "w", "stratum", "psu")
    certainty = Design(lonely, "w", "stratum", "psu", lonely_psu="certainty").mean("y").iloc[0]
    scaled = Design(lonely, "w", "stratum", "psu", lonely_psu="scaled").mean("y").iloc[0]
    centered = Design(lonely, "w", "stratum", "psu", lonely_psu="centered").mean("y").iloc[0]
    assert scaled.se**2 == pytest.approx(certainty.se**2 * 3 / 2, rel=1e-12)
    # Centered (R's adjust): the lonely PSU's total deviates from zero, which for a mean
    # is the mean of all six PSU totals (they add up to zero).
    p = certainty.estimate
    w, y, psu_key = lonely.w.to_numpy(), lonely.y.to_numpy(), lonely.stratum + lonely.psu.astype(str)
    totals = pd.Series(w * (y - p) / w.sum()).groupby(psu_key.to_numpy()).sum()
    assert totals.sum() == pytest.approx(0, abs=1e-15)
    assert centered.se**2 == pytest.approx(certainty.se**2 + totals["C1"] ** 2, rel=1e-12)
    # For a total the lonely PSU's own total counts whole: sum of w*y in C is 1.
    totals_certainty = Design(lonely, "w", "stratum", "psu", lonely_psu="certainty").total("y").iloc[0]
    totals_centered = Design(lonely, "w", "stratum", "psu", lonely_psu="centered").total("y").iloc[0]
    assert totals_centered.se**2 == pytest.approx(totals_certainty.se**2 + 1.0, rel=1e-12)


def test_missing_values_are_an_error_unless_excluded_and_then_counted():
    holes = SMALL.assign(y=SMALL.y.where(SMALL.index != 4))
    with pytest.raises(DesignError, match="1 missing"):
        Design(holes, "w", "stratum", "psu").mean("y")
    result = Design(holes, "w", "stratum", "psu").mean("y", missing="exclude").iloc[0]
    assert result.n == 10 and result.n_missing == 1
    # Excluding is estimating over the domain of answered rows, with the full design.
    as_domain = (
        Design(holes.assign(answered=holes.y.notna()), "w", "stratum", "psu")
        .mean("y", by="answered", missing="exclude")
        .set_index("answered")
        .loc[True]
    )
    assert (result.estimate, result.se) == pytest.approx((as_domain.estimate, as_domain.se), rel=1e-12)


def test_deff_is_one_for_simple_random_sampling():
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"y": rng.normal(size=400), "w": 1.0})
    assert Design(data, "w").mean("y").deff.iloc[0] == pytest.approx(1.0, rel=1e-12)
    clustered = data.assign(psu=np.repeat(np.arange(40), 10), y=np.repeat(rng.normal(size=40), 10))
    assert Design(clustered, "w", psu="psu").mean("y").deff.iloc[0] > 5  # identical values within clusters


def test_a_contrast_uses_only_the_cells_it_combines():
    data = SMALL.assign(d=["a", "a", "b", "b", "c", "c", "a", "a", "b", "b", "c"])
    data.loc[data.d == "c", "y"] = np.nan  # "c" has no usable answer
    design = Design(data, "w", "stratum", "psu")
    tests = design.contrasts(
        "y", "d", [{"a": 1, "b": -1}, {"a": 1, "c": -1}, {"a": 1, "z": -1}, {"a": 1, "c": 0}], missing="exclude"
    )
    means = design.mean("y", by="d", missing="exclude").set_index("d")
    assert tests.estimate[0] == pytest.approx(means.estimate["a"] - means.estimate["b"], rel=1e-12)
    assert tests.unavailable.tolist() == ["", "empty_cell", "missing_cell", ""]
    assert np.isnan(tests.estimate[1]) and np.isnan(tests.estimate[2])
    assert tests.estimate[3] == pytest.approx(means.estimate["a"], rel=1e-12)  # a zero coefficient is no use
    # Degrees of freedom of the cells combined: "a" and "b" lie in PSUs A1, A2, B1, B2 (4 - 2).
    assert tests.df[0] == 2 and tests.df[3] == means.df["a"]


def test_korn_graubard_interval_by_hand():
    from scipy import stats

    result = Design(SMALL, "w", "stratum", "psu").mean("y", ci="korn-graubard").iloc[0]
    p, n, df = result.estimate, result.n, result.df
    n_star = p * (1 - p) / result.se**2 * (stats.t.ppf(0.025, n - 1) / stats.t.ppf(0.025, df)) ** 2
    assert result.ci_low == pytest.approx(stats.beta.ppf(0.025, n_star * p, n_star * (1 - p) + 1), rel=1e-12)
    assert result.ci_high == pytest.approx(stats.beta.ppf(0.975, n_star * p + 1, n_star * (1 - p)), rel=1e-12)
    assert result.n_eff == pytest.approx(min(p * (1 - p) / result.se**2, n), rel=1e-12)
    with pytest.raises(DesignError, match="0/1"):
        Design(SMALL, "w", "stratum", "psu").mean("w", ci="korn-graubard")


@pytest.mark.slow
def test_confidence_intervals_cover_the_truth_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    # A finite population: 6 strata x 40 clusters x 60 women, cluster-level prevalence.
    strata, clusters, size = 6, 40, 60
    cluster_p = np.clip(rng.beta(2, 5, size=(strata, clusters)) + np.linspace(0, 0.2, strata)[:, None], 0, 1)
    population = pd.DataFrame(
        {
            "stratum": np.repeat(np.arange(strata), clusters * size),
            "cluster": np.tile(np.repeat(np.arange(clusters), size), strata),
        }
    )
    population["y"] = (rng.random(len(population)) < cluster_p[population.stratum, population.cluster]).astype(float)
    truth = population.y.mean()
    take_clusters, take_women = 8, 15
    hits, reps = 0, 600
    for _ in range(reps):
        clusters_drawn = np.stack([rng.choice(clusters, take_clusters, replace=False) for _ in range(strata)])
        women = np.stack([rng.choice(size, take_women, replace=False) for _ in range(strata * take_clusters)])
        first_row = ((np.arange(strata)[:, None] * clusters + clusters_drawn) * size).reshape(-1, 1)
        sample = population.iloc[(first_row + women).ravel()].assign(w=(clusters / take_clusters) * (size / take_women))
        result = Design(sample, "w", "stratum", "cluster", fpc=clusters).mean("y").iloc[0]
        hits += result.ci_low <= truth <= result.ci_high
    coverage = hits / reps
    # 600 draws: a true 95% gives 0.95 +- 0.018 (two standard errors).
    assert 0.93 <= coverage <= 0.97, coverage

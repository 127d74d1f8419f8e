"""Replicate-weight designs against R's survey package on its school samples: jackknife
(JK1, JKn with each single-PSU convention), bootstrap weights that R drew, each before
and after calibration (raking and linear). Estimates equal R's to 1e-9, SEs to 1e-6,
and degrees of freedom exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rsurvey import SOURCES, run_r, sample
from test_survey_r import MARGINS, R_KINDS, _compare_kinds

from d8lib.survey.design import Design, DesignError

SE = 1e-6

R_CALIBRATE = """
des <- calibrate(des, formula = list(~stype, ~sch.wide),
                 population = list(data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)),
                                   data.frame(sch.wide = c("No", "Yes"), Freq = c(1100, 5094))),
                 calfun = METHOD, epsilon = 1e-12, maxit = 200)
"""
# R_KINDS, then the degrees of freedom of the whole design and of each school type.
R_DF = """
out$df <- NA
out$df[out$dom == "all"] <- degf(des)
for (k in c("E", "H", "M")) out$df[out$dom == k] <- degf(subset(des, stype == k))
"""


def _compare(design, reference: pd.DataFrame, whole_df: bool = True) -> None:
    """``whole_df``: compare the whole design's degrees of freedom too. R's raking of a
    replicate design keeps the degf it had before (only linear calibration and subsets
    recompute it); ours are those of the weights in use."""
    _compare_kinds(design, reference, SE, whole_df)


def _r(design_code: str, data: pd.DataFrame, calibration: str | None = None) -> pd.DataFrame:
    calibrate = R_CALIBRATE.replace("METHOD", f"'{calibration}'") if calibration else ""
    return run_r(design_code + calibrate + R_KINDS + R_DF, data)


@pytest.mark.parametrize("calibration", [None, "raking", "linear"])
@pytest.mark.parametrize("source", SOURCES)
def test_jk1_of_a_cluster_sample_equals_r(calibration, source):
    """15 districts drawn from 757 (apiclus1): delete-one-district jackknife with the fpc."""
    data = sample("apiclus1", source)
    reference = _r(
        'des <- as.svrepdesign(svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = df), type = "JK1")\n',
        data,
        calibration,
    )
    design = Design(data, "pw", psu="dnum", fpc="fpc").replicates("jk1")
    assert design.n_replicates == 15
    _compare(design.calibrate(MARGINS, calibration) if calibration else design, reference, calibration != "raking")


@pytest.mark.parametrize("calibration", [None, "raking", "linear"])
@pytest.mark.parametrize("source", SOURCES)
def test_jkn_of_a_stratified_sample_equals_r(calibration, source):
    """Schools by type (apistrat): delete-one-school jackknife within each stratum, with the fpc."""
    data = sample("apistrat", source)
    reference = _r(
        'des <- as.svrepdesign(svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = df), type = "JKn")\n',
        data,
        calibration,
    )
    design = Design(data, "pw", strata="stype", fpc="fpc").replicates("jkn")
    assert design.n_replicates == len(data)
    _compare(design.calibrate(MARGINS, calibration) if calibration else design, reference, calibration != "raking")


@pytest.mark.parametrize("ours, theirs", [("centered", "adjust"), ("scaled", "average"), ("certainty", "certainty")])
@pytest.mark.parametrize("source", SOURCES)
def test_jkn_with_single_school_counties_equals_r(ours, theirs, source):
    """Strata by county, 13 of the 40 holding one school: each of R's conventions."""
    data = sample("apistrat", source)
    reference = _r(
        f'options(survey.lonely.psu = "{theirs}")\n'
        'des <- as.svrepdesign(svydesign(ids = ~1, strata = ~cname, weights = ~pw, data = df), type = "JKn")\n',
        data,
    )
    _compare(Design(data, "pw", strata="cname", lonely_psu=ours).replicates("jkn"), reference)


@pytest.mark.parametrize("calibration", [None, "raking"])
@pytest.mark.parametrize("source", SOURCES)
def test_bootstrap_weights_that_r_drew_give_r_results(calibration, source):
    """R's Rao-Wu bootstrap (subbootstrap, 60 replicates) of the stratified sample, its
    replicate weights read as given weights (R's svrepdesign)."""
    data = sample("apistrat", source)
    draw = (
        "set.seed(20261204)\n"
        'des <- as.svrepdesign(svydesign(ids = ~1, strata = ~stype, weights = ~pw, data = df), type = "subbootstrap", replicates = 60)\n'
    )
    weights = run_r(draw + "out <- as.data.frame(weights(des, 'analysis'))", data)
    given = pd.concat([data, weights.set_axis([f"bw{i}" for i in range(60)], axis=1)], axis=1)
    reference = _r(draw, data, calibration)
    design = Design.from_replicates(given, "pw", "^bw", "bootstrap")
    assert design.scale == pytest.approx(1 / 59)
    _compare(design.calibrate(MARGINS, calibration) if calibration else design, reference, calibration != "raking")


@pytest.mark.parametrize("source", SOURCES)
def test_our_bootstrap_weights_give_r_results_with_them(source):
    """Our Rao-Wu weights, handed to R's svrepdesign as bootstrap weights, give R's figures."""
    data = sample("apistrat", source)
    design = Design(data, "pw", strata="stype").replicates("bootstrap", replicates=40, seed=1)
    given = pd.concat([data, design.replicate_weights], axis=1)
    reference = run_r(
        'des <- svrepdesign(data = df, weights = ~pw, repweights = "rep_", type = "bootstrap")\n' + R_KINDS + R_DF,
        given,
    )
    _compare(design, reference)


@pytest.mark.parametrize("source", SOURCES)
def test_rao_wu_multipliers_are_unbiased_and_reproduce_the_variance(source):
    """Stated in advance: over 4,000 replicates the mean multiplier is 1 within 0.02 and the
    bootstrap SE of the mean is within 5% of the linearised (with-replacement) SE, whose
    expectation it equals; the relative error of a variance from R replicates is about
    sqrt(2 / R) = 2.2%, so 5% is over 2 standard errors of the SE."""
    data = sample("apistrat", source)
    design = Design(data, "pw", strata="stype")
    boot = design.replicates("bootstrap", replicates=4000)
    multipliers = boot.replicate_weights.to_numpy() / data.pw.to_numpy()[:, None]
    assert abs(multipliers.mean() - 1) < 0.02
    assert boot.mean("api00").se.iloc[0] == pytest.approx(design.mean("api00").se.iloc[0], rel=0.05)
    again = design.replicates("bootstrap", replicates=40, seed=7).replicate_weights
    assert again.equals(design.replicates("bootstrap", replicates=40, seed=7).replicate_weights)


@pytest.mark.parametrize("source", SOURCES)
def test_nonresponse_is_adjusted_in_every_replicate_as_r_computes_it(source):
    """Schools that "did not answer" (no award) pass their weight to their type's
    respondents, in the full sample and in each jackknife replicate; R does the same
    with ave() on its replicate weights."""
    data = sample("apistrat", source).assign(answered=lambda d: d.awards == "Yes")
    design = Design(data, "pw", strata="stype").replicates("jkn").adjust_for_nonresponse("answered", ["stype"])
    reference = run_r(
        'des <- as.svrepdesign(svydesign(ids = ~1, strata = ~stype, weights = ~pw, data = df), type = "JKn")\n'
        "answered <- df$answered == 'True'\n"
        "adjust <- function(w) ifelse(answered, w * ave(w, df$stype, FUN = sum) / ave(w * answered, df$stype, FUN = sum), 0)\n"
        "rw <- apply(weights(des, 'analysis'), 2, adjust)\n"
        "des <- svrepdesign(data = df, weights = adjust(df$pw), repweights = rw, type = 'JKn',\n"
        "                  rscales = des$rscales, scale = des$scale, combined.weights = TRUE)\n" + R_KINDS + R_DF,
        data,
    )
    _compare(design, reference)


@pytest.mark.parametrize("source", SOURCES)
def test_replicates_that_r_refuses_are_refused(source):
    data = sample("apistrat", source)
    with pytest.raises(DesignError, match="JK1"):
        Design(data, "pw", strata="stype").replicates("jk1")
    with pytest.raises(DesignError, match="rscales"):
        Design.from_replicates(data.assign(a=data.pw, b=data.pw), "pw", ["a", "b"], "jkn")
    lonely = Design(data, "pw", strata="cname", lonely_psu="scaled")
    with pytest.raises(DesignError, match="single PSU"):
        lonely.replicates("bootstrap")
    assert np.isfinite(lonely.replicates("jkn").mean("api00").se).all()

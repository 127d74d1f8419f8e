"""Nonresponse adjustment, calibration margins from population totals, and what
calibration refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from d8lib.survey.design import Design
from d8lib.survey.weighting import (
    CalibrationError,
    adjust_for_nonresponse,
    margins_from_totals,
)


def test_nonresponse_weight_moves_to_the_respondents_of_the_village_or_else_the_stratum():
    data = pd.DataFrame(
        {
            "stratum": ["A"] * 5 + ["B"] * 2,
            "village": ["a1", "a1", "a1", "a2", "a2", "b1", "b1"],
            "w": [10.0, 10, 20, 5, 5, 8, 8],
        }
    )
    responded = pd.Series([True, False, True, False, False, True, True])
    adjusted = adjust_for_nonresponse(data, "w", responded, ["village", "stratum"])
    # a1: 40 of weight, 30 answered: x 4/3 (40). a2: nobody answered: its 10 go to
    # stratum A's respondents, who then hold 50: x 5/4.
    assert adjusted[1] == 0 and adjusted[3] == 0 and adjusted[4] == 0
    assert adjusted[0] == pytest.approx(10 * 4 / 3 * 5 / 4) and adjusted[2] == pytest.approx(20 * 4 / 3 * 5 / 4)
    assert adjusted.sum() == pytest.approx(data.w.sum())
    assert adjusted[5] == adjusted[6] == 8


def test_small_cells_are_merged_within_their_group():
    totals = pd.DataFrame(
        {"district": ["d1"] * 3 + ["d2"] * 2, "ethnicity": ["H", "K", "T", "H", "K"], "women": [500, 300, 40, 200, 100]}
    )
    sample = pd.DataFrame(
        {
            "district": ["d1"] * 60 + ["d2"] * 50,
            "ethnicity": ["H"] * 30 + ["K"] * 25 + ["T"] * 5 + ["H"] * 30 + ["K"] * 20,
        }
    )
    keyed, margins = margins_from_totals(totals, sample, [["district", "ethnicity"]], minimum=20, value="women")
    # d1|T has 5 respondents: merged with d1's smallest other cell (K) into d1|other.
    assert margins == {
        "calibration:district×ethnicity": {"d1|H": 500.0, "d1|other": 340.0, "d2|H": 200.0, "d2|K": 100.0}
    }
    assert keyed["calibration:district×ethnicity"].value_counts().to_dict() == {
        "d1|H": 30,
        "d1|other": 30,
        "d2|H": 30,
        "d2|K": 20,
    }


def test_calibration_refuses_what_it_cannot_meet():
    data = pd.DataFrame({"g": ["a", "a", "b"], "h": ["x", "y", "x"], "w": [1.0, 1.0, 1.0], "y": [1.0, 0, 1]})
    design = Design(data, "w")
    with pytest.raises(CalibrationError, match="c"):
        design.calibrate({"g": {"a": 10, "b": 5, "c": 3}})  # no respondent in c
    with pytest.raises(CalibrationError, match="b"):
        design.calibrate({"g": {"a": 10}})  # rows in b, no total for b
    with pytest.raises(CalibrationError, match="different totals"):
        design.calibrate({"g": {"a": 10, "b": 5}, "h": {"x": 10, "y": 6}})
    calibrated = design.calibrate({"g": {"a": 10, "b": 5}, "h": {"x": 9, "y": 6}}, method="linear")
    assert calibrated.weights.sum() == pytest.approx(15)
    with pytest.raises(Exception, match="already calibrated"):
        calibrated.calibrate({"g": {"a": 10, "b": 5}})
    assert np.isfinite(calibrated.mean("y").se.iloc[0])


def test_a_replicate_without_anyone_of_a_level_is_refused_by_name():
    """Level "b" lives in one village only: the jackknife replicate that leaves that
    village out has no one to carry b's total, and calibration says so."""
    data = pd.DataFrame(
        {
            "stratum": ["s"] * 6,
            "village": ["v1", "v1", "v2", "v2", "v3", "v3"],
            "g": ["a", "b", "a", "a", "a", "a"],
            "w": [1.0] * 6,
        }
    )
    replicated = Design(data, "w", strata="stratum", psu="village").replicates("jkn")
    assert replicated.calibrate({"g": {"a": 50, "b": 10}}, method="linear").weights.sum() == pytest.approx(60)
    with pytest.raises(CalibrationError, match="did not converge"):
        replicated.calibrate({"g": {"a": 50, "b": 10}})

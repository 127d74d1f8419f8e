"""Monte Carlo validation of the whole estimator on one fixed synthetic population:
the demo's design (districts x project/comparison strata, villages, households, one
woman), its nonresponse, the adjustment within villages and the raking to population
totals, repeated over 200 samples.

Stated in advance:
- figures: H1-H10 for the province; for each district, the indicators whose universe
  is at least half of the women (H4, H5, H7, H8, H9, H10; the others hold fewer than
  100 women per district in a sample);
- the 95% intervals the reports publish (Korn-Graubard, with the domain's degrees of
  freedom) cover the population value 93.5-96.5% of the time, for province and
  district figures separately;
- the mean estimated SE over the SD of the estimates across samples, averaged over
  the figures, lies in 0.9-1.1.
Samples are the replicates 0-199 of the demo's seed; none is chosen or left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from d8demo.synth import (
    _stream,
    choose_villages,
    draw_sample,
    load_settings,
    population,
    villages,
)
from d8lib.reports import evaluate
from d8lib.survey import outcomes

REPLICATES = 200
DISTRICT_INDICATORS = ["H4", "H5", "H7", "H8", "H9", "H10"]


@pytest.fixture(scope="module")
def simulation(plan):
    settings = load_settings()
    seed = settings["seed"]
    frame = villages(plan.units(), settings, _stream(seed, "villages"))
    eligible = frame[frame.zone != "none"]
    women = population(eligible, "baseline", settings, _stream(seed, "population-baseline"))
    women["age_group"] = outcomes.age_group(women.age)
    definitions = outcomes.load_definitions()
    truth = []
    for code, spec in definitions.iterrows():
        columns = outcomes.indicator_columns(women, spec)
        answered = women.assign(answer=columns._answer)[columns._in_universe.notna()]
        truth.append(pd.DataFrame({"indicator": code, "unit": "province", "truth": [answered.answer.mean()]}))
        by_district = answered.groupby("district").answer.mean()
        truth.append(pd.DataFrame({"indicator": code, "unit": by_district.index, "truth": by_district.to_numpy()}))
    truth = pd.concat(truth, ignore_index=True)
    totals = women.groupby(["district", "ethnicity", "age_group"]).size().rename("women").reset_index()
    calibration = dict(settings["calibration"], totals=totals.assign(round="baseline"))
    per_village = settings["survey"]["households_per_village"]
    results = []
    for replicate in range(REPLICATES):
        rng = np.random.default_rng([seed, replicate])
        chosen = choose_villages(frame, settings, rng)
        sample = draw_sample(women, chosen, settings, rng, per_village).assign(round="baseline")
        design = outcomes.with_indicators(
            evaluate.survey_design(evaluate.respondents(sample), calibration), definitions
        )
        province = outcomes.estimate(design, ci="korn-graubard", definitions=definitions).assign(unit="province")
        districts = outcomes.estimate(
            design, DISTRICT_INDICATORS, by="district", ci="korn-graubard", definitions=definitions
        ).rename(columns={"district": "unit"})
        results.append(pd.concat([province, districts], ignore_index=True).assign(replicate=replicate))
    estimates = pd.concat(results, ignore_index=True).merge(truth, on=["indicator", "unit"])
    estimates["covered"] = (estimates.ci_low <= estimates.truth) & (estimates.truth <= estimates.ci_high)
    return estimates


@pytest.mark.slow
@pytest.mark.parametrize("level", ["province", "district"])
def test_intervals_cover_the_population_value_95_percent_of_the_time(simulation, level):
    figures = simulation[(simulation.unit == "province") == (level == "province")]
    coverage = figures.covered.mean()
    assert 0.935 <= coverage <= 0.965, (coverage, figures.groupby("indicator").covered.mean().round(3).to_dict())


@pytest.mark.slow
@pytest.mark.parametrize("level", ["province", "district"])
def test_estimated_standard_errors_match_the_spread_of_the_estimates(simulation, level):
    figures = simulation[(simulation.unit == "province") == (level == "province")]
    per_figure = figures.groupby(["indicator", "unit"]).agg(se=("se", "mean"), sd=("estimate", "std"))
    ratio = (per_figure.se / per_figure.sd).mean()
    assert 0.9 <= ratio <= 1.1, (ratio, (per_figure.se / per_figure.sd).round(2).to_dict())

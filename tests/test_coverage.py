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
  the figures, lies in 0.9-1.1;
- the same two bands hold for the province figures when the variance is the JKn
  jackknife (``variance: jkn``: one replicate per village left out, every replicate
  raked to the totals as the full sample is); the jackknife is the design-based
  answer to the linearised variance's small shortfall under raking;
- small-area estimates of the new communes (Fay-Herriot, REML, smoothed direct
  variances, covariates from the village register, benchmarked to the province; the
  indicators H4 and H9): their 95% intervals (EBLUP -/+ 1.96 root MSE) cover the
  commune's population value 92-98% of the time, over all communes and samples. The
  model holds only approximately here, and the Prasad-Rao MSE is unconditional, so
  the band is wider than the design-based one; a commune's own coverage may be lower.
Samples are the replicates 0-199 of the demo's seed; none is chosen or left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from d8demo.draws import stream
from d8demo.population import choose_villages, draw_sample, population, villages
from d8demo.synth import load_settings
from d8lib.reports import evaluate
from d8lib.survey import outcomes
from d8lib.survey.smallarea import area_estimates

REPLICATES = 200
FIGURE = ["estimate", "ci_low", "ci_high"]
DISTRICT_INDICATORS = ["H4", "H5", "H7", "H8", "H9", "H10"]
COMMUNE_INDICATORS = ["H4", "H9"]


@pytest.fixture(scope="module")
def simulation(plan):
    settings = load_settings()
    seed = settings["seed"]
    frame = villages(plan.units(), settings, stream(seed, "villages"))
    eligible = frame[frame.zone != "none"]
    women = population(eligible, "baseline", settings, stream(seed, "population-baseline"))
    women["age_group"] = outcomes.age_group(women.age)
    definitions = outcomes.load_definitions()
    truth = []
    for code, spec in definitions.iterrows():
        columns = outcomes.indicator_columns(women, spec)
        answered = women.assign(answer=columns._answer)[columns._in_universe.notna()]
        truth.append(pd.DataFrame({"indicator": code, "unit": "province", "truth": [answered.answer.mean()]}))
        by_district = answered.groupby("district").answer.mean()
        truth.append(pd.DataFrame({"indicator": code, "unit": by_district.index, "truth": by_district.to_numpy()}))
        if code in COMMUNE_INDICATORS:
            by_commune = answered.groupby("commune_2025").answer.mean()
            truth.append(
                pd.DataFrame({"indicator": code, "unit": "c" + by_commune.index, "truth": by_commune.to_numpy()})
            )
    truth = pd.concat(truth, ignore_index=True)
    covariates = evaluate.commune_covariates(frame)
    commune_of = frame.set_index("village").commune_2025
    totals = women.groupby(["district", "ethnicity", "age_group"]).size().rename("women").reset_index()
    calibration = dict(settings["calibration"], totals=totals.assign(round="baseline"))
    per_village = settings["survey"]["households_per_village"]
    results = []
    for replicate in range(REPLICATES):
        rng = np.random.default_rng([seed, replicate])
        chosen = choose_villages(frame, settings, rng)
        sample = draw_sample(women, chosen, settings, rng, per_village).assign(round="baseline")
        respondents = evaluate.respondents(sample)
        design = outcomes.with_indicators(evaluate.survey_design(respondents, calibration), definitions)
        province = outcomes.estimate(design, ci="korn-graubard", definitions=definitions).assign(unit="province")
        indicators = [c for c in design.data if c.startswith(("_in_universe:", "_answer:"))]  # the same women's
        jackknife = evaluate.survey_design(respondents, calibration, variance="jkn").assign(**design.data[indicators])
        province_jkn = outcomes.estimate(jackknife, ci="korn-graubard", definitions=definitions).assign(
            unit="province", variance="jkn"
        )
        districts = outcomes.estimate(
            design, DISTRICT_INDICATORS, by="district", ci="korn-graubard", definitions=definitions
        ).rename(columns={"district": "unit"})
        communes = []
        with_communes = design.assign(commune_2025=design.data.village.map(commune_of))
        for code in COMMUNE_INDICATORS:
            prepared, universe, answer = outcomes.for_indicator(with_communes, definitions.loc[code])
            fitted = area_estimates(prepared, answer, "commune_2025", covariates, within=universe)
            communes.append(fitted.assign(indicator=code, unit="c" + fitted.area)[["indicator", "unit", *FIGURE]])
        linearised = pd.concat([province, districts, *communes], ignore_index=True).assign(variance="taylor")
        results.append(pd.concat([linearised, province_jkn], ignore_index=True).assign(replicate=replicate))
    estimates = pd.concat(results, ignore_index=True).merge(truth, on=["indicator", "unit"])
    estimates["covered"] = (estimates.ci_low <= estimates.truth) & (estimates.truth <= estimates.ci_high)
    return estimates


def _level(simulation: pd.DataFrame, level: str, variance: str = "taylor") -> pd.DataFrame:
    kind = np.where(
        simulation.unit == "province", "province", np.where(simulation.unit.str[0] == "c", "commune", "district")
    )
    return simulation[(kind == level) & (simulation.variance == variance)]


LEVELS = [("province", "taylor"), ("district", "taylor"), ("province", "jkn")]


@pytest.mark.slow
@pytest.mark.parametrize("level, variance", LEVELS)
def test_intervals_cover_the_population_value_95_percent_of_the_time(simulation, level, variance):
    figures = _level(simulation, level, variance)
    coverage = figures.covered.mean()
    assert 0.935 <= coverage <= 0.965, (coverage, figures.groupby("indicator").covered.mean().round(3).to_dict())


@pytest.mark.slow
@pytest.mark.parametrize("level, variance", LEVELS)
def test_estimated_standard_errors_match_the_spread_of_the_estimates(simulation, level, variance):
    figures = _level(simulation, level, variance)
    per_figure = figures.groupby(["indicator", "unit"]).agg(se=("se", "mean"), sd=("estimate", "std"))
    ratio = (per_figure.se / per_figure.sd).mean()
    assert 0.9 <= ratio <= 1.1, (ratio, (per_figure.se / per_figure.sd).round(2).to_dict())


@pytest.mark.slow
def test_small_area_intervals_of_communes_cover_their_population_value(simulation):
    figures = _level(simulation, "commune")
    assert figures.unit.nunique() > 40  # the new communes with eligible women
    coverage = figures.covered.mean()
    assert 0.92 <= coverage <= 0.98, (coverage, figures.groupby("indicator").covered.mean().round(3).to_dict())

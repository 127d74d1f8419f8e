"""Outcome indicators H1-H10 over survey microdata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from d8lib.survey.design import Design
from d8lib.survey.outcomes import age_group, estimate, load_definitions


@pytest.fixture(scope="module")
def women() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n = 3000
    age = rng.integers(15, 50, n)
    married = rng.random(n) < np.clip((age - 14) / 12, 0, 0.9)
    ipv = married & (rng.random(n) < 0.1)
    data = pd.DataFrame(
        {
            "district": rng.choice(["080", "082", "084"], n),
            "village": rng.integers(0, 60, n),
            "weight": rng.uniform(20, 80, n),
            "age": age,
            "ethnicity": rng.choice(["H'Mông", "Dao", "Kinh"], n),
            "marital_status": np.where(married, "married", "never"),
            "ever_partnered": married.astype(int),
            "age_first_union": np.where(married, rng.integers(14, 26, n), np.nan),
            "birth_2y": (married & (rng.random(n) < 0.3)).astype(int),
            "anc_visits": rng.integers(0, 8, n),
            "ipv_physical_12m": ipv.astype(int),
            "ipv_sexual_12m": 0,
            "sought_formal_help": (rng.random(n) < 0.2).astype(int),
            "knows_trusted_address": (rng.random(n) < 0.4).astype(float),
            "has_formal_account": (rng.random(n) < 0.3).astype(int),
            "tkvvtb_member": (rng.random(n) < 0.2).astype(int),
            "spoke_at_meeting": (rng.random(n) < 0.35).astype(int),
            "purchase_decision": rng.choice(["self", "joint", "husband"], n),
        }
    )
    data["birth_place"] = np.where(data.birth_2y == 1, rng.choice(["home", "facility"], n), None)
    for reason in ["beat_goes_out", "beat_neglects_children", "beat_argues", "beat_refuses_sex", "beat_burns_food"]:
        data[reason] = (rng.random(n) < 0.1).astype(int)
    data.loc[data.index[:25], "knows_trusted_address"] = np.nan  # item non-response
    data["village"] = data.district + "-" + data.village.astype(str)
    return data


def design(data):
    return Design(data, "weight", "district", "village")


def test_definitions_cover_h1_to_h10():
    definitions = load_definitions()
    assert list(definitions.index) == [f"H{i}" for i in range(1, 11)]
    assert not definitions.higher_is_better["H1"] and definitions.higher_is_better["H2"]
    assert definitions.name_vi.str.len().gt(0).all() and definitions.name_en.str.len().gt(0).all()


def test_home_births_by_hand(women):
    result = estimate(design(women), ["H1"]).iloc[0]
    births = women[women.birth_2y == 1]
    expected = np.average(births.birth_place == "home", weights=births.weight)
    assert result.estimate == pytest.approx(expected, rel=1e-12)
    assert result.n == len(births) and result.n_missing == 0 and not result.higher_is_better
    # The universe is a domain of the full design: same as estimating over a domain flag,
    # with the interval the reports use (the presentation standard's, Korn-Graubard).
    flagged = women.assign(home=(women.birth_place == "home").astype(float), births=women.birth_2y == 1)
    domain = design(flagged).mean("home", by="births", ci="korn-graubard").set_index("births").loc[True]
    assert (result.se, result.ci_low, result.ci_high) == pytest.approx((domain.se, domain.ci_low, domain.ci_high))


def test_item_non_response_is_counted_not_hidden(women):
    result = estimate(design(women), ["H7"]).iloc[0]
    answered = women.knows_trusted_address.notna()
    assert result.n == answered.sum() and result.n_missing == 25
    expected = np.average(women.knows_trusted_address[answered], weights=women.weight[answered])
    assert result.estimate == pytest.approx(expected, rel=1e-12)


def test_child_marriage_among_women_20_24(women):
    result = estimate(design(women), ["H3"]).iloc[0]
    young = women[(women.age >= 20) & (women.age <= 24)]
    expected = np.average(young.age_first_union < 18, weights=young.weight)
    assert result.estimate == pytest.approx(expected, rel=1e-12) and result.n == len(young)
    unknown = women.copy()
    first = young.index[young.marital_status == "married"][0]
    unknown.loc[first, "age_first_union"] = np.nan
    assert estimate(design(unknown), ["H3"]).iloc[0].n_missing == 1


def test_any_reason_and_victims_and_married_universes(women):
    results = estimate(design(women), ["H4", "H6", "H10"]).set_index("indicator")
    reasons = women.filter(like="beat_").eq(1).any(axis=1)
    assert results.estimate["H4"] == pytest.approx(np.average(reasons, weights=women.weight), rel=1e-12)
    victims = women[women.ipv_physical_12m == 1]
    assert results.n["H6"] == len(victims)
    married = women[women.marital_status == "married"]
    expected = np.average(married.purchase_decision.isin(["self", "joint"]), weights=married.weight)
    assert results.estimate["H10"] == pytest.approx(expected, rel=1e-12)


def test_breakdowns_by_ethnicity_age_group_and_membership(women):
    data = women.assign(age_group=age_group(women.age))
    by_group = estimate(design(data), ["H8", "H9"], by=["ethnicity", "age_group"])
    assert set(by_group.ethnicity) == {"H'Mông", "Dao", "Kinh"} and by_group.age_group.nunique() == 7
    members = estimate(design(data), ["H8"], by="tkvvtb_member").set_index("tkvvtb_member")
    subset = data[data.tkvvtb_member == 1]
    assert members.estimate[1] == pytest.approx(np.average(subset.has_formal_account, weights=subset.weight))
    assert by_group.columns[:3].tolist() == ["indicator", "ethnicity", "age_group"]


def test_age_groups():
    groups = age_group(pd.Series([15, 19, 20, 49, 50, 14]))
    assert groups.tolist()[:4] == ["15-19", "15-19", "20-24", "45-49"] and groups.iloc[4:].isna().all()

"""The synthetic dataset: reproducible, realistic in shape, and recoverable by the engine."""

from __future__ import annotations

import datetime as dt
import filecmp

import pandas as pd
import pytest
from helpers import ROOT

from d8lib.intake.store import Store
from d8lib.intake.submissions import intake
from d8lib.survey.comparisons import difference_in_differences
from d8lib.survey.design import Design
from d8lib.survey.outcomes import estimate, indicator_columns, load_definitions

DEMO = ROOT / "data" / "demo"
CODES = {"district": str, "commune": str, "commune_2025": str, "phone": str, "respondent_id": str}


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO / name, dtype=CODES)


@pytest.fixture(scope="module")
def rounds() -> dict[str, pd.DataFrame]:
    return {r: read(f"survey/{r}-{y}.csv") for r, y in [("baseline", 2022), ("midterm", 2024), ("endline", 2025)]}


@pytest.fixture(scope="module")
def truth() -> pd.Series:
    return read("truth.csv").set_index(["indicator", "round", "group"]).value


@pytest.mark.slow
def test_synth_reproduces_the_demo_bit_for_bit(tmp_path):
    from d8demo.synth import generate

    out = generate(tmp_path / "demo")
    shipped = sorted(p.relative_to(DEMO) for p in DEMO.rglob("*") if p.is_file())
    made = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert made == shipped
    different = [str(p) for p in shipped if not filecmp.cmp(DEMO / p, out / p, shallow=False)]
    assert different == []


def test_villages_follow_the_units_and_zones():
    villages = read("villages.csv")
    communes = villages.drop_duplicates("commune")
    assert villages.district.nunique() == 9 and len(communes) == 151
    assert (communes.zone != "none").sum() == 139 and (communes.zone == "III").sum() == 65
    assert villages.project.sum() > 0 and ((villages.project == 0) & (villages.zone != "none")).sum() > 0
    assert villages.groupby("commune").commune_2025.nunique().eq(1).all()
    assert villages.commune_2025.nunique() == 48


def test_registers_match_the_plan_in_shape(plan):
    teams = read("registers/teams.csv")
    targets = plan.targets.query("indicator == 'O1'").set_index("unit").target
    built = teams.groupby("district").size()
    assert built["082"] > built["084"]  # Bát Xát runs ahead, Si Ma Cai lags
    assert (built / targets.drop("10")).max() <= 1.06
    survivors = read("registers/survivors.csv")
    assert {"full_name", "phone"} <= set(survivors.columns) and len(survivors) > 100
    assert read("registers/savings_members.csv").group.nunique() == len(read("registers/savings_groups.csv"))


def test_surveys_carry_identities_design_and_the_reform(rounds):
    for data in rounds.values():
        assert {"respondent_name", "phone", "weight", "stratum", "village", "project", "response"} <= set(data.columns)
        rostered = data[data.response != "household_not_interviewed"]
        assert rostered.phone.str.fullmatch(r"0\d{9}").all() and rostered.respondent_name.str.contains(" Thị ").all()
        assert rostered.age.between(15, 49).all()
        # Nonresponse: households not interviewed, women not at home or refusing, no answers from them.
        rates = data.response.value_counts(normalize=True)
        assert 0.85 < rates["completed"] < 0.95 and rates["household_not_interviewed"] > 0.02
        assert data.loc[data.response != "completed", "birth_2y"].isna().all()
    assert "district" in rounds["baseline"] and "commune" in rounds["midterm"]
    assert "district" not in rounds["endline"] and "commune" not in rounds["endline"]
    assert set(rounds["endline"].commune_2025) <= set(read("villages.csv").commune_2025)
    assert set(rounds["baseline"].village) == set(rounds["endline"].village)  # the same villages every round
    hmong = rounds["baseline"].query('ethnicity == "H\'Mông" and age >= 20 and age <= 24')
    kinh = rounds["baseline"].query("ethnicity == 'Kinh' and age >= 20 and age <= 24")
    assert (hmong.age_first_union < 18).mean() > 3 * max((kinh.age_first_union < 18).mean(), 0.01)


def test_demo_submissions_pass_intake_with_exactly_the_expected_outcomes(plan, tmp_path):
    inbox = read("inbox.csv")
    store = Store(tmp_path / "store")
    outcomes = []
    for entry in inbox.itertuples():
        result = intake(
            [DEMO / "submissions" / entry.file], store, plan, plan.units(), sent_on=dt.date.fromisoformat(entry.sent_on)
        )[0]
        outcomes.append((entry.file, result.status, ";".join(sorted({p.code for p in result.problems}))))
    expected = list(zip(inbox.file, inbox.status, inbox.problem.fillna("")))
    assert outcomes == expected
    assert ("087-2023-loi.xlsx", "rejected", "sexes_do_not_add_up") in outcomes
    submissions = store.submissions()
    assert (submissions.superseded_by.notna()).sum() == 1  # Mường Khương's corrected 2024 report
    assert not ((submissions.district == "084") & (submissions.period == "2023-final")).any()
    assert len(store.warnings()) == 0


@pytest.fixture(scope="module")
def weighted(plan) -> dict[str, Design]:
    """Each round as the evaluation weights it: nonresponse adjusted, then calibrated."""
    from d8lib.reports import evaluate

    calibration = evaluate.calibration_settings(DEMO)
    stacked = evaluate.load_surveys(DEMO, ["baseline", "midterm", "endline"], plan.units())
    return {
        "stacked": evaluate.survey_design(stacked, calibration),
        **{
            r: evaluate.survey_design(stacked[stacked["round"] == r].reset_index(drop=True), calibration)
            for r in ("baseline", "midterm", "endline")
        },
    }


def test_the_demos_intervals_miss_the_truth_no_more_than_chance_allows(weighted, truth):
    # 30 province estimates (H1-H10 x 3 rounds) and 20 differences in differences
    # (H1-H10 x midterm, endline): with 95% intervals about 2.5 of 50 miss; 8 or more
    # misses would happen by chance with probability 0.003 (binomial, 50, 0.05).
    misses = []
    for name in ("baseline", "midterm", "endline"):
        for row in estimate(weighted[name], ci="korn-graubard").itertuples():
            if not row.ci_low <= truth[row.indicator, name, "all"] <= row.ci_high:
                misses.append((row.indicator, name))
    design = weighted["stacked"]  # villages recur: their covariance counts
    for code, spec in load_definitions().iterrows():
        columns = indicator_columns(design.data, spec)
        for after in ("midterm", "endline"):
            effect = difference_in_differences(
                design.assign(**columns),
                "_answer",
                "round",
                "project",
                ("baseline", after),
                (1, 0),
                by="_in_universe",
                missing="exclude",
            ).iloc[0]
            if not effect.ci_low <= truth[code, after, "difference_in_differences"] <= effect.ci_high:
                misses.append((code, after, "difference_in_differences"))
    assert len(misses) <= 7, misses


def test_scale_multiplies_the_survey(plan):
    from d8demo.draws import stream
    from d8demo.population import survey, villages
    from d8demo.synth import load_settings

    settings = load_settings()
    frame = villages(plan.units(), settings, stream(settings["seed"], "villages"))
    small = survey(frame, "midterm", settings, settings["seed"], 1, plan.units())
    large = survey(frame, "midterm", settings, settings["seed"], 3, plan.units())
    assert list(large.columns) == list(small.columns)
    assert 2.5 < len(large) / len(small) < 3.1
    assert large.weight.sum() == pytest.approx(small.weight.sum() * 3, rel=0.1)

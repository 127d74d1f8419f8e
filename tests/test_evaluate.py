"""The evaluation tables: the endline bridged across the 2025 reform, changes, effects."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from helpers import ROOT

from d8lib.reports import evaluate, findings
from d8lib.reports.evaluate import BridgeError, bridge
from d8lib.survey.io.codebook import read_round

DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def store(demo_store):
    return demo_store


@pytest.fixture(scope="module")
def villages():
    return pd.read_csv(DEMO / "villages.csv", dtype=evaluate.CODE_COLUMNS)


def test_surveys_are_read_without_identities():
    data = read_round(evaluate.survey_codebook(DEMO), "baseline")
    assert not {"respondent_name", "phone"} & set(data.columns)
    assert data.district.str.fullmatch(r"\d{3}").all()


def test_the_endline_is_bridged_to_the_old_districts(plan, villages):
    endline = read_round(evaluate.survey_codebook(DEMO), "endline")
    assert "district" not in endline
    placed = bridge(endline, villages, plan.units())
    register = villages.set_index("village").district
    assert (placed.district == placed.village.map(register)).all()
    assert placed.stratum.str[:3].eq(placed.district).all()  # the design's strata agree


def test_rows_of_unknown_villages_go_through_the_crosswalk_or_are_named(plan, villages):
    cross = plan.units().crosswalk
    single = cross.groupby("new_code").old_district_code.nunique().loc[lambda s: s == 1].index[0]
    spanning = cross[cross.new_spans_districts].new_code.iloc[0]
    rows = pd.DataFrame({"village": ["unknown-1", "unknown-2"], "commune_2025": [single, spanning]})
    with pytest.raises(BridgeError, match="1 survey rows") as exc:
        bridge(rows, villages, plan.units())
    assert "rows 3" in str(exc.value)  # the second data row of the file
    placed = bridge(rows.iloc[:1], villages, plan.units())
    assert placed.district.iloc[0] == cross[cross.new_code == single].old_district_code.iloc[0]


def test_endline_tables_cover_every_unit_with_changes_and_effects(plan, store):
    bundle = evaluate.build(plan, DEMO, store, "endline")
    assert bundle.rounds == ["baseline", "midterm", "endline"] and bundle.as_of.isoformat() == "2025-12-31"
    units = set(bundle.outcomes.unit)
    assert units == {"10"} | set(plan.districts.unit)
    endline = bundle.outcomes[(bundle.outcomes["round"] == "endline") & (bundle.outcomes.unit == "084")]
    assert set(endline.indicator) == {f"H{i}" for i in range(1, 11)}
    province_changes = bundle.changes[bundle.changes.unit == "10"]
    assert len(province_changes) == 10 and province_changes["from"].eq("baseline").all()
    assert province_changes.to.eq("endline").all()
    effects = bundle.effects[bundle.effects.unit == "10"].set_index("indicator")
    assert (effects.ci_low < effects.estimate).all() and (effects.estimate < effects.ci_high).all()
    assert bundle.design["psus"] == bundle.sample[bundle.sample.unit == "10"].villages.max()


def test_baseline_has_no_changes_and_monitoring_has_no_surveys(plan, store):
    baseline = evaluate.build(plan, DEMO, store, "baseline")
    assert baseline.changes.empty and baseline.effects.empty and set(baseline.outcomes["round"]) == {"baseline"}
    review = evaluate.build(plan, None, store, "midterm", period="2024")
    assert review.outcomes.empty and len(review.progress) and review.period == "2024"
    sentences = findings.key_findings(review, "10")
    assert sentences[0].startswith("Đến ngày 31/12/2024") and len(sentences) >= 2
    # A unit the plan sets no target is told so, not "0 of 0 targets".
    review.progress = review.progress[review.progress.unit != "085"]
    first = findings.key_findings(review, "085")[0]
    assert first == "Đến ngày 31/12/2024, kế hoạch chưa giao chỉ tiêu nào cho đơn vị này." and " 0 trên 0" not in first
    assert findings.key_findings(review, "085", "en")[0] == "By 31/12/2024, the plan sets this unit no target."


def test_numbers_in_findings_are_written_as_readers_write_them():
    assert findings.number(12.345) == "12,3" and findings.number(-0.05, 1, "en") == "-0.1"
    assert findings.number(1234.6, 0) == "1.235" and findings.number(1234.6, 0, "en") == "1,235"


def test_a_run_hands_its_tables_over_as_parquet_files_that_read_back_the_same(tmp_path, plan, store):
    from d8lib.reports.bundle import TABLES, load

    built = evaluate.build(plan, DEMO, store, "midterm")
    folder = built.save(tmp_path / "tables")
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{t}.parquet" for t in TABLES] + ["facts.json"])
    read = load(folder)
    assert (read.phase, read.as_of, read.rounds, read.design) == (built.phase, built.as_of, built.rounds, built.design)
    for name in ("progress", "people", "outcomes", "breakdowns", "effects"):
        expected = getattr(built, name).reset_index(drop=True)
        got = getattr(read, name).astype({c: str for c in ("round",) if c in expected})
        pd.testing.assert_frame_equal(
            got, expected.astype({c: str for c in ("round",) if c in expected}), check_dtype=False
        )
    # An analyst reads any table with pandas alone.
    assert len(pd.read_parquet(folder / "outcomes.parquet")) == len(built.outcomes)


def test_project_status_comes_from_the_register_and_must_not_contradict_it(villages):
    rows = pd.DataFrame({"village": villages.village.iloc[:2], "stratum": ["s1", "s2"], "round": "baseline"})
    assigned = evaluate.assign_from_register(rows, villages)
    assert assigned.project.tolist() == villages.project.iloc[:2].tolist()
    flipped = rows.assign(project=1 - villages.project.iloc[:2].to_numpy())
    with pytest.raises(evaluate.SurveyDataError, match=villages.village.iloc[0]):
        evaluate.assign_from_register(flipped, villages)
    with pytest.raises(evaluate.SurveyDataError, match="no-such-village"):
        evaluate.assign_from_register(rows.assign(village=["no-such-village", rows.village.iloc[1]]), villages)


def test_a_village_under_two_strata_across_rounds_is_named():
    stacked = pd.DataFrame({"village": ["v1", "v1", "v2"], "stratum": ["A", "B", "A"]})
    with pytest.raises(evaluate.SurveyDataError, match="v1"):
        evaluate.check_strata(stacked)
    evaluate.check_strata(stacked.iloc[1:])


def test_every_table_carries_flags_and_the_effects_both_comparisons(plan, store):
    bundle = evaluate.build(plan, DEMO, store, "endline")
    for table in (bundle.outcomes, bundle.breakdowns, bundle.changes, bundle.effects):
        assert table.flag.isin(["ok", "review", "caution", "suppress", "unavailable"]).all()
        assert (table.reason.eq("") == table.flag.eq("ok")).all()
    province = bundle.effects[bundle.effects.unit == "10"]
    assert set(province.comparison) == {"pooled", "within_district"}
    assert province[province.comparison == "within_district"].domains.max() <= 7  # 080 and 086 have no project villages
    districts = bundle.outcomes[bundle.outcomes.unit != "10"]
    assert (districts.df < bundle.design["df"]).all() and districts.df.max() <= 10
    assert bundle.design["calibration"] == "raking"


def test_outcomes_are_broken_down_by_the_zone_of_the_village_register(plan, villages):
    surveys = evaluate.load_surveys(DEMO, ["baseline"], plan.units())
    zones = villages.set_index("village").zone
    assert (surveys.zone == surveys.village.map(zones)).all() and set(surveys.zone) <= {"I", "II", "III"}
    design = evaluate.survey_design(surveys)
    from d8lib.survey import outcomes

    by_zone = outcomes.estimate(design, ["H7"], by=["round", "zone"])
    counted = surveys.groupby("zone").size()
    # H7's universe is every woman: those who answered and those who did not make up each zone.
    shown = by_zone.set_index("zone")
    assert (shown.n + shown.n_missing).to_dict() == counted.to_dict()


def test_a_report_before_any_round_is_due_shows_no_data_not_an_error(plan, store):
    from d8lib.reports import sections

    # As of 31/12/2022 no round is due yet (the first, the 2022 update, is due on 25/01/2023).
    bundle = evaluate.build(plan, None, store, "baseline", pd.Timestamp("2022-12-31").date())
    assert bundle.progress.achieved.isna().all() and bundle.progress.achieved.dtype == float
    for unit in (plan.province, "085"):
        shown = sections.progress(bundle, unit).tables["tien-do"]
        assert set(shown["Đánh giá"]) <= {"Chưa có số liệu", "Chưa đến hạn"}, unit  # no data / not due
    assert sections.district_shares(bundle).isna().all().all()


def test_a_full_disk_while_the_tables_are_written_leaves_nothing_behind(tmp_path, plan, store, monkeypatch):
    import errno

    built = evaluate.build(plan, DEMO, store, "midterm")
    written = []
    real = pd.DataFrame.to_parquet

    def fill_up(self, path, *args, **kwargs):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fill_up)
    with pytest.raises(OSError):
        built.save(tmp_path / "tables")
    assert written and list(tmp_path.iterdir()) == []


def test_a_stratum_with_one_responding_village_does_not_stop_a_run():
    """Each village a stratum of its own but two: the run's setting (data/evaluation.yaml,
    "centered", R's "adjust") lets the single villages add their total's square, and the
    methods annex says so."""
    from d8lib.reports.sections import design_text

    stacked = pd.DataFrame(
        {
            "round": "baseline",
            "stratum": ["a", "a", "b", "b", "c"],
            "village": ["v1", "v2", "v3", "v4", "v5"],
            "weight": [1.0, 1.0, 1.0, 1.0, 1.0],
            "y": [1.0, 3.0, 2.0, 2.0, 5.0],
        }
    )
    design = evaluate.survey_design(stacked)
    assert design.lonely_psu == "centered" and design.single_psu_strata == ["c"]
    # Total 13; strata a and b: 2/1 x ((1-2)^2 + (3-2)^2) = 4 and 0; stratum c: 5^2 = 25.
    assert design.total("y").se.iloc[0] == pytest.approx((4 + 0 + 25) ** 0.5, rel=1e-12)
    text = design_text({"single_psu_strata": 1, "lonely_psu": "centered"}, "en")
    assert "1 strata had a single responding village" in text and "'adjust'" in text


def test_small_area_estimates_cover_every_new_commune_and_agree_with_the_province(plan):
    """Every new commune of the register gets each headline outcome of the latest round;
    a sampled commune's direct estimate is the design's mean over its women; the
    model-based estimates, weighted by each commune's estimated women of the universe,
    average to the province's direct estimate (the benchmark)."""
    from d8lib.survey import outcomes

    definitions = outcomes.load_definitions()
    stacked, _, design = evaluate.outcome_design(DEMO, ["baseline", "midterm"], plan.units(), definitions)
    villages = pd.read_csv(DEMO / "villages.csv", dtype=str)
    table, facts = evaluate.small_areas(design, villages, "midterm", definitions)
    headline = set(definitions.index[definitions.headline.fillna(False).astype(bool)])
    assert set(table.indicator) == headline == set(facts["indicators"])
    assert table.groupby("indicator").unit.nunique().eq(villages.commune_2025.nunique()).all()
    data = design.data.assign(
        commune_2025=design.data.village.map(villages.set_index("village").commune_2025),
        weight=design.weights,  # calibrated
    )
    for code in headline:
        spec = definitions.loc[code]
        columns = outcomes.indicator_columns(data, spec)
        women = data[(data["round"] == "midterm") & columns._in_universe.notna() & columns._answer.notna()]
        answer = columns._answer[women.index]
        by_hand = (women.weight * answer).groupby(women.commune_2025).sum() / women.weight.groupby(
            women.commune_2025
        ).sum()
        rows = table[table.indicator == code].set_index("unit")
        sampled = rows.n > 0
        assert rows.direct[sampled].to_dict() == pytest.approx(by_hand.to_dict(), rel=1e-12)
        shares = women.weight.groupby(women.commune_2025).sum()
        province = (women.weight * answer).sum() / women.weight.sum()
        average = (rows.estimate.reindex(shares.index) * shares).sum() / shares.sum()
        assert average == pytest.approx(province, rel=1e-9)


def test_a_jackknife_evaluation_estimates_the_same_variance_as_linearisation(plan, monkeypatch):
    """With ``variance: jkn`` the rounds' design is a delete-one-village jackknife,
    calibrated replicate by replicate; both estimate the same variance, so (stated in
    advance) every province figure's jackknife SE is within 25% of its linearised SE,
    and the methods annex names the jackknife."""
    from d8lib.core import paths
    from d8lib.reports.sections import design_text
    from d8lib.survey import outcomes
    from d8lib.survey.replicates import ReplicateDesign

    definitions = outcomes.load_definitions()
    designs = {}
    for variance in ("taylor", "jkn"):
        monkeypatch.setitem(paths.evaluation_settings(), "variance", variance)
        _, _, designs[variance] = evaluate.outcome_design(DEMO, ["baseline", "midterm"], plan.units(), definitions)
    assert isinstance(designs["jkn"], ReplicateDesign) and designs["jkn"].n_replicates == designs["taylor"].n_psu
    taylor, jackknife = (outcomes.estimate(designs[v], by="round", definitions=definitions) for v in ("taylor", "jkn"))
    assert jackknife.estimate.to_numpy() == pytest.approx(taylor.estimate.to_numpy(), rel=1e-12)
    ratio = jackknife.se / taylor.se
    assert ratio.between(0.75, 1.25).all(), ratio.round(3).tolist()
    assert "jackknife" in design_text({"variance": "jkn"}, "en")


def test_each_step_of_a_build_makes_the_tables_the_registry_gives_it(plan, store):
    import datetime as dt
    from dataclasses import fields

    from d8lib.reports.bundle import REGISTRY, TABLES, Bundle

    frames = {f.name for f in fields(Bundle) if f.type == "pd.DataFrame"}
    assert frames == set(TABLES)  # the bundle holds the registry's tables, no other
    inputs = evaluate.Inputs(plan, store, DEMO, ["baseline"], dt.date(2023, 12, 31), None, None, None)
    tables = {}
    for step, make in evaluate.STEPS.items():
        made, _ = make(inputs, tables)
        declared = {t.name for t in REGISTRY if t.step == step}
        extended = set(made) - declared  # a later step may add rows to an earlier step's record
        assert declared <= set(made) and extended <= {"disclosure"} and extended <= set(tables), (step, made)
        tables |= made
    assert set(tables) == set(TABLES)


def _saved(bundle, folder) -> dict:
    bundle.save(folder)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_survey_estimates_kept_in_the_cache_give_the_same_tables_and_are_not_computed_again(
    tmp_path, plan, store, monkeypatch
):
    cache = tmp_path / "cache"
    uncached = _saved(evaluate.build(plan, DEMO, store, "endline"), tmp_path / "uncached")
    assert _saved(evaluate.build(plan, DEMO, store, "endline", cache=cache), tmp_path / "cold") == uncached
    assert len(list(cache.glob("tables-*"))) == 1

    def not_again(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(evaluate, "survey_estimates", not_again)
    assert _saved(evaluate.build(plan, DEMO, store, "endline", cache=cache), tmp_path / "warm") == uncached
    # Another copy of the same survey finds them too; a changed survey file does not.
    data = tmp_path / "data"
    shutil.copytree(DEMO, data, ignore=shutil.ignore_patterns("store", "submissions", "registers"))
    evaluate.build(plan, data, store, "endline", cache=cache)
    codebook = data / "survey" / "codebook.yaml"
    codebook.write_text(codebook.read_text(encoding="utf-8") + "\n# a note\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="computed again"):
        evaluate.build(plan, data, store, "endline", cache=cache)


def test_damaged_estimates_in_the_cache_are_computed_again(tmp_path, plan, store):
    cache = tmp_path / "cache"
    first = _saved(evaluate.build(plan, DEMO, store, "midterm", cache=cache), tmp_path / "first")
    kept = next(cache.glob("tables-*"))
    (kept / "outcomes.parquet").write_bytes(b"not parquet")
    assert _saved(evaluate.build(plan, DEMO, store, "midterm", cache=cache), tmp_path / "again") == first
    (kept / "facts.json").unlink()
    assert _saved(evaluate.build(plan, DEMO, store, "midterm", cache=cache), tmp_path / "third") == first

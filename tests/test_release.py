"""A phase's survey rounds released with replicate weights in place of strata and
villages (``d8 survey release``): R's ``svrepdesign``, called as the file's sidecar
says, gives from the file the figures the pipeline gives with the same variance
method; nothing in the file names a place or a person; rare levels are pooled."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from d8lib.cli import main
from d8lib.core.paths import DATA_DIR
from d8lib.reports import evaluate
from d8lib.reports.release import POOLED, survey_release, write_release
from d8lib.survey import outcomes
from d8lib.survey.io import replicate_file
from tests.rsurvey import run_r

DEMO = DATA_DIR / "demo"


@pytest.fixture(scope="module")
def released(plan, tmp_path_factory):
    table, settings = survey_release(DEMO, "midterm", plan)
    path = write_release(table, settings, tmp_path_factory.mktemp("release"))
    return table, settings, path


@pytest.fixture(scope="module")
def pipeline(plan):
    """The pipeline's own figures with the jackknife: indicator x round."""
    definitions = outcomes.load_definitions()
    stacked = evaluate.load_surveys(DEMO, evaluate.phase_rounds("midterm"), plan.units())
    design = evaluate.survey_design(stacked, evaluate.calibration_settings(DEMO), variance="jkn")
    design = outcomes.with_indicators(design, definitions)
    return outcomes.estimate(design, by="round", definitions=definitions).set_index(["indicator", "round"])


def test_r_reads_the_file_as_the_sidecar_says_and_gets_the_pipelines_figures(released, pipeline):
    table, settings, path = released
    sidecar = yaml.safe_load(path.with_suffix(".yaml").read_text(encoding="utf-8"))
    call = sidecar["r"].replace(f'read.csv("{path.name}")', "df")
    assert call != sidecar["r"]
    # Weights to 9 decimals (about 12 digits): R's stored answer then keys on data that
    # the last digit of floating-point arithmetic does not change; well within 1e-9.
    data = table[["round", "H1", "H4", "H9", "weight", *[c for c in table if c.startswith("rw_")]]].round(9)
    data.attrs["d8"] = True  # d8's own data: R's answers are stored (tests/rsurvey.py)
    reference = run_r(
        f"d <- {call}\n"
        + """
        rows <- list()
        for (code in c("H1", "H4", "H9")) for (r in c("baseline", "midterm")) {
          sub <- subset(d, round == r & !is.na(df[[code]]))
          est <- svymean(as.formula(paste0("~", code)), sub)
          rows[[length(rows) + 1]] <- data.frame(indicator = code, round = r, estimate = coef(est)[[1]],
                                                 se = SE(est)[[1]], df = degf(sub))
        }
        out <- do.call(rbind, rows)
        """,
        data,
    )
    for row in reference.itertuples():
        ours = pipeline.loc[(row.indicator, row.round)]
        assert ours.estimate == pytest.approx(row.estimate, rel=1e-9)
        assert ours.se == pytest.approx(row.se, rel=1e-6)
        assert ours.df == row.df


def test_d8_reads_the_file_back_as_the_same_design(released, pipeline):
    _, _, path = released
    design = replicate_file.read(path)
    for code in ["H4", "H7"]:
        again = design.mean(code, by="round", missing="exclude").set_index("round")
        for round_name, ours in pipeline.loc[code].iterrows():
            assert again.estimate[round_name] == pytest.approx(ours.estimate, rel=1e-12)
            assert again.se[round_name] == pytest.approx(ours.se, rel=1e-9)
            assert again.df[round_name] == ours.df


def test_the_file_names_no_place_and_no_person(released, plan):
    table, settings, _ = released
    replicates = [c for c in table if c.startswith("rw_")]
    assert len(replicates) == len(settings["rscales"]) > 30
    assert [c for c in table if c not in replicates] == [
        "round", "project", "ethnicity", "age_group", "zone",
        *outcomes.load_definitions().index, "weight",
    ]  # fmt: skip
    survey = pd.read_csv(DEMO / "survey" / "midterm-2024.csv", dtype=str)
    villages = pd.read_csv(DEMO / "villages.csv", dtype=str)
    places = set(villages.village) | set(villages.commune) | set(survey.get("respondent_id", pd.Series(dtype=str)))
    text = set(table.select_dtypes(exclude="number").stack().astype(str))
    assert not text & places
    # the rows are shuffled: their order is not the survey files' order by village
    stacked = evaluate.load_surveys(DEMO, evaluate.phase_rounds("midterm"), plan.units())
    assert not np.allclose(np.sort(table.weight.to_numpy()), table.weight.to_numpy())
    assert len(table) == len(stacked)


def test_a_level_held_by_fewer_than_five_women_is_pooled(plan, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DEMO / "survey", data / "survey")
    shutil.copy(DEMO / "villages.csv", data)
    for name in ["baseline-2022.csv", "midterm-2024.csv"]:
        frame = pd.read_csv(data / "survey" / name, dtype=str, keep_default_na=False)
        rare = frame.index[frame.ethnicity.eq("Hà Nhì")]
        keep = 2 if name.startswith("baseline") else 1
        frame.loc[rare[keep:], "ethnicity"] = "Kinh"
        frame.to_csv(data / "survey" / name, index=False)
    table, settings = survey_release(data, "midterm", plan)
    assert "Hà Nhì" not in set(table.ethnicity)
    assert (table.ethnicity == POOLED).sum() == 3
    assert settings["pooled_levels"]["ethnicity"] == 1


def test_the_command_writes_a_bootstrap_release_and_names_a_folder_without_a_survey(tmp_path, capsys):
    assert main(["survey", "release", "--phase", "baseline", "--out", str(tmp_path), "--method", "bootstrap",
                 "--replicates", "20", "--seed", "7"]) == 0  # fmt: skip
    design = replicate_file.read(tmp_path / "survey-baseline.csv")
    assert (design.method, design.n_replicates, design.scale) == ("bootstrap", 20, pytest.approx(1 / 19))
    assert "survey-baseline.csv" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["survey", "release", "--phase", "midterm", "--data", str(empty), "--out", str(tmp_path)]) == 2
    message = capsys.readouterr().err
    assert "villages.csv" in message and str(empty) in message

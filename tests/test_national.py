"""The national run: every province's reports on a Dask cluster, the same whether the
cluster is a real scheduler with two workers or the LocalCluster of the embedded
default, with failures isolated and ``latest`` moved only when everything succeeded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from helpers import ROOT, d8
from openpyxl import load_workbook

from d8demo.national import generate_national
from d8lib.plan.model import load_plan

PROVINCES = ["10", "04"]  # Lào Cai and a synthetic province (generate_national's first two)


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    return generate_national(tmp_path_factory.mktemp("national"), len(PROVINCES))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A dask scheduler and two dask workers, each its own process on localhost."""
    folder = tmp_path_factory.mktemp("cluster")
    file = folder / "scheduler.json"
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen(
        [bin_dir / "dask", "scheduler", "--scheduler-file", file, "--port", "0", "--dashboard-address", ":0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while not file.exists() and time.time() < deadline:
        time.sleep(0.2)
    workers = [
        subprocess.Popen(
            [bin_dir / "dask", "worker", "--scheduler-file", file, "--nworkers", "1", "--nthreads", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=folder,
        )
        for _ in range(2)
    ]
    address = json.loads(file.read_text())["address"]
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    yield address
    for process in [*workers, scheduler]:
        process.terminate()
        process.wait(timeout=30)


def run(national, out, *extra):
    result = d8(
        "national", "run", "--phase", "baseline", "--data", str(national), "--out", str(out), *extra, timeout=1500
    )
    manifest_path = out / "latest" / "manifest.json"
    return result, json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None


def cells(path: Path) -> dict:
    book = load_workbook(path, read_only=True)
    return {sheet.title: [row for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def test_the_national_dataset_has_lao_cai_and_synthetic_provinces(national):
    plans = {code: load_plan(national / "provinces" / code / "plan.yaml") for code in PROVINCES}
    assert plans["10"].meta["number"] == "355/KH-UBND" and not plans["10"].meta.get("synthetic")
    for code in PROVINCES[1:]:
        plan = plans[code]
        assert (
            plan.meta["synthetic"] and plan.province == code and not [f for f in plan.check() if f.severity == "error"]
        )
        communes = len(plan.units().at_level("commune")) / len(plans["10"].units().at_level("commune"))
        o1 = plan.targets.set_index(["indicator", "unit"]).target["O1", code]
        assert o1 == round(423 * communes)  # O1 scaled by communes against Lào Cai's 151


def test_a_run_by_commune_asks_each_province_for_its_new_communes(national, tmp_path):
    from d8lib.ops.national import reporting_units
    from d8lib.units.registry import load_units

    for code in PROVINCES:
        plan = load_plan(national / "provinces" / code / "plan.yaml")
        communes = load_units(national / "provinces" / code / "units").at_level("commune_2025")
        by_commune = reporting_units(plan, "communes-2025")
        assert by_commune.unit.tolist() == [code, *communes.code] and by_commune.name.tolist()[1:] == list(
            communes.name
        )
        assert reporting_units(plan, "all").unit.tolist() == [code, *plan.districts.unit]
        assert reporting_units(plan, "province").unit.tolist() == [code]
    out = tmp_path / "out"
    result = d8("national", "run", "--phase", "midterm", "--data", str(national), "--out", str(out), "--units", "xa")
    assert result.returncode == 2 and "--units: no choice 'xa'" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_a_real_cluster_gives_the_reports_of_the_local_one_and_a_failure_stops_no_other(national, cluster, tmp_path):
    out = tmp_path / "outputs"
    result, first = run(national, out, "--scheduler", cluster)
    assert result.returncode == 0, result.stdout + result.stderr
    assert first["status"] == "ok" and first["scheduler"] == cluster
    assert {r["province"] for r in first["reports"]} == set(PROVINCES) and len(first["reports"]) == 10 + 11
    # Cao Bằng again on the embedded LocalCluster, where one of its reports fails (the
    # notebook refuses one district): the others are done, each with the real cluster's
    # figures, and latest still shows the last good run.
    failing = tmp_path / "notebooks"
    failing.mkdir()
    book = nbformat.read(ROOT / "notebooks" / "evaluation.ipynb", as_version=4)
    theirs = [r for r in first["reports"] if r["province"] == "04"]
    victim = [r["unit"] for r in theirs if r["unit"] != "04"][0]
    book.cells.insert(2, nbformat.v4.new_code_cell(f"assert unit != {victim!r}, 'made to fail'"))
    nbformat.write(book, failing / "evaluation.ipynb")
    result, after = run(national, out, "--provinces", "04", "--workers", "2", "--notebooks", str(failing))
    assert result.returncode == 1 and after["run"] == first["run"]  # latest unchanged
    failed_run = sorted((out / "runs").iterdir())[-1]
    second = json.loads((failed_run / "manifest.json").read_text(encoding="utf-8"))
    assert second["scheduler"] == "LocalCluster" and second["run"] != first["run"]
    statuses = {(r["province"], r["unit"]): r["status"] for r in second["reports"]}
    assert [k for k, s in statuses.items() if s != "ok"] == [("04", victim)] and len(statuses) == len(theirs)
    assert os.readlink(out / "latest").endswith(first["run"])
    for a, b in zip(theirs, second["reports"], strict=True):
        assert (a["province"], a["unit"]) == (b["province"], b["unit"])
        if b["status"] == "ok":
            assert b["execution"] == "executed"  # its notebook changed: nothing reused
            assert cells(out / "latest" / a["province"] / a["excel"]) == cells(failed_run / b["province"] / b["excel"])


def test_outcomes_pooled_across_provinces_match_r_survey(national):
    from rsurvey import run_r

    from d8lib.reports import evaluate
    from d8lib.survey import outcomes

    definitions = outcomes.load_definitions()
    frames = []
    for code in PROVINCES:
        folder = national / "provinces" / code
        plan = load_plan(folder / "plan.yaml")
        design = evaluate.outcome_design(folder, evaluate.phase_rounds("midterm"), plan.units(), definitions)
        frames.append(evaluate.pooling_rows(design[2], code))
    ours = evaluate.pooled_outcomes(frames, definitions).set_index(["indicator", "round"])
    pooled = pd.concat(frames, ignore_index=True)
    # Weights to 9 decimals: R's stored answer does not hang on their last bits (BLAS threads).
    data = pooled.assign(
        u=pooled["_in_universe:H1"].fillna(0).astype(int), y=pooled["_answer:H1"], weight=pooled.weight.round(9)
    )[["round", "stratum", "village", "weight", "u", "y"]]
    data.attrs["d8"] = True  # the national demo: R's answers on it are stored (rsurvey)
    reference = run_r(
        """
        d <- svydesign(ids = ~village, strata = ~stratum, weights = ~weight, data = df, nest = TRUE)
        d <- subset(d, u == 1 & !is.na(y))
        est <- svyby(~y, ~round, d, svymean)
        out <- data.frame(round = est$round, estimate = est$y, se = SE(est),
                          df = sapply(est$round, function(r) degf(subset(d, round == r))))
        """,
        data,
    ).set_index("round")
    for round_name, row in reference.iterrows():
        mine = ours.loc[("H1", round_name)]
        assert mine.estimate == pytest.approx(row.estimate, rel=1e-9)
        assert mine.se == pytest.approx(row.se, rel=1e-6)
        assert mine.df == row.df


def test_a_worker_is_sent_nothing_personal(tmp_path):
    """What travels to a worker: no register of people, no survey column named personal."""
    import io
    import tarfile

    from d8lib.ops.national import pack_for_worker

    demo = ROOT / "data" / "demo"
    with tarfile.open(fileobj=io.BytesIO(pack_for_worker(demo)), mode="r:gz") as archive:
        names = archive.getnames()
        text = b"".join(archive.extractfile(m).read() for m in archive.getmembers() if m.isfile())
        sent = pd.read_csv(archive.extractfile("survey/midterm-2024.csv"), dtype=str)
    assert not [n for n in names if n.startswith(("registers/", "store/", "truth"))]
    assert {"villages.csv", "inbox.csv", "survey/codebook.yaml", "survey/midterm-2024.csv"} <= set(names)
    survivors = pd.read_csv(demo / "registers" / "survivors.csv", dtype=str)
    survey = pd.read_csv(demo / "survey" / "midterm-2024.csv", dtype=str)
    for value in [*survivors.full_name, *survivors.phone, *survey.respondent_name.dropna(), *survey.phone.dropna()]:
        assert value.encode() not in text, value
    assert "respondent_name" not in sent and "phone" not in sent and len(sent) == len(survey)


def test_a_province_built_from_parts_made_on_other_workers_has_the_tables_of_one_build(national, tmp_path, monkeypatch):
    """Its store and survey estimates made by their own tasks, then its tables: the digests
    of every report's inputs are those of a build in one process, as ``d8 run`` builds."""
    import datetime as dt
    import shutil

    from d8lib.core.paths import run_cache
    from d8lib.intake.inbox import prepare_store
    from d8lib.intake.store import Store
    from d8lib.ops.national import build_tables, estimate_survey, pack_for_worker, take_in, unpack
    from d8lib.reports import evaluate

    blob, as_of = pack_for_worker(national / "provinces" / "04"), dt.date(2025, 12, 31)
    parts = [take_in("04", blob), estimate_survey("04", blob, "midterm")]
    with monkeypatch.context() as patched:  # the build estimates nothing itself: it reads the survey's part
        patched.setattr(evaluate, "survey_estimates", None)
        built = build_tables("04", blob, "midterm", as_of.isoformat(), "", "all", *parts)
    assert built["error"] == "" and set(built["parts"]) == {"intake", "survey"}
    data = unpack(blob, tmp_path / "data")
    plan = load_plan(data / "plan.yaml")
    store = Store(prepare_store(plan, data, run_cache(tmp_path / "cache")))
    bundle = evaluate.build(plan, data, store, "midterm", as_of, areas=evaluate.commune_areas(data))
    assert built["digests"] == bundle.digests(list(built["digests"])) and len(built["digests"]) > 1
    # A part that fails fails its province by its reason, and the build says it.
    shutil.rmtree(data / "survey")
    failed = estimate_survey("04", pack_for_worker(data), "midterm")
    assert failed["error"] and "Traceback" not in failed["error"]
    assert (
        build_tables("04", blob, "midterm", as_of.isoformat(), "", "all", parts[0], failed)["error"] == failed["error"]
    )


def test_a_malformed_scheduler_address_is_a_usage_error_that_leaves_nothing(national, tmp_path):
    out = tmp_path / "out"
    for address in ("nonsense", "tls://127.0.0.1:notaport"):
        result = d8(
            "national", "run", "--phase", "midterm", "--data", str(national), "--out", str(out), "--scheduler", address
        )
        assert (
            result.returncode == 2 and "Not a scheduler address" in result.stderr and "Traceback" not in result.stderr
        )
    assert not (out / "runs").exists() and (out / ".lock").read_text() == ""  # the lock names no one
    assert "takes over" not in result.stderr

"""Runs that redo only what changed: what a report reads is recorded as digests, and a
report whose digests match the published run's is reused, not executed again."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest
from helpers import ROOT, d8_run
from test_disclosure import _sheet

from d8lib.core import labels
from d8lib.ops import reuse, runner
from d8lib.reports import evaluate, formats

DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def bundle(plan, demo_store):
    store = demo_store
    return evaluate.build(plan, None, store, "midterm", dt.date(2025, 1, 25), review="2024")


def test_a_report_reads_its_own_rows_and_the_province_reads_all(bundle):
    before = bundle.digests(["10", "085", "086"])
    changed = bundle.progress.copy()
    row = changed.index[(changed.unit == "086") & (changed.indicator == "O8")][0]
    changed.loc[row, "achieved"] += 1
    bundle.progress, original = changed, bundle.progress
    try:
        after = bundle.digests(before)
    finally:
        bundle.progress = original
    assert after["086"] != before["086"] and after["10"] != before["10"] and after["085"] == before["085"]
    # The same tables give the same digest, asked alone or with other units.
    assert bundle.digests(["085"]) == {"085": before["085"]}


def test_a_tables_text_in_a_digest_is_pandas_split_json(bundle):
    """The digest's text of a table is what ``to_json(orient="split")`` writes, though put
    together faster: digests of earlier runs stay valid."""
    from d8lib.reports.bundle import TABLES, _plain, _split_json

    odd = pd.DataFrame(
        {
            "a/b": ["x", 'Đ/ă "q"', None],
            1: [1.5, float("nan"), -0.0],
            "day": pd.to_datetime(["2024-01-01", None, "2025-12-31"]),
            "date": [dt.date(2024, 1, 1), None, dt.date(2025, 1, 2)],
            "flag": [True, False, True],
            "count": pd.array([1, None, 3], dtype="Int64"),
            "mixed": [1, "x", 2.5],
            "far": [1e300, 1e-300, 123456789.123456789],
        }
    )
    frames = [odd, odd.head(0), odd.iloc[[2, 0]]] + [_plain(getattr(bundle, name)) for name in TABLES]
    for frame in frames:
        frame = frame.reset_index(drop=True)
        assert _split_json(frame) == frame.to_json(orient="split", index=False, date_format="iso", default_handler=str)


def test_a_report_is_reused_only_when_every_input_is_the_same():
    inputs = {"tables": "a", "notebook": "b", "code": "c", "parameters": "d"}
    earlier = {"status": "ok", "inputs": dict(inputs)}
    assert reuse.decide(earlier, inputs, force=False) == (True, "unchanged")
    assert reuse.decide(earlier, {**inputs, "code": "x", "tables": "y"}, force=False) == (
        False,
        "changed: tables, code",
    )
    assert reuse.decide(earlier, inputs, force=True) == (False, "forced")
    assert reuse.decide(None, inputs, force=False) == (False, "no earlier report")
    assert reuse.decide({**earlier, "status": "failed"}, inputs, force=False)[0] is False


def _run(data, out, *extra):
    manifest = d8_run("--review", "2024", "--units", "province,085,086", "--data", str(data), "--out", str(out), *extra)
    return manifest, {r["unit"]: (r["execution"], r["reason"]) for r in manifest["reports"]}


@pytest.mark.slow
def test_a_nightly_run_redoes_only_the_reports_whose_inputs_changed(tmp_path):
    data, out = tmp_path / "data", tmp_path / "outputs"
    shutil.copytree(DEMO, data)
    first, executions = _run(data, out)
    assert {e for e, _ in executions.values()} == {"executed"}
    # Nothing changed: nothing is executed, no table is built, the same pages are published.
    second, executions = _run(data, out)
    assert executions == dict.fromkeys(["10", "085", "086"], ("reused", "unchanged run"))
    assert second["run_key"] == first["run_key"] and second["run"] != first["run"]
    for report in second["reports"]:
        earlier, now = out / "runs" / first["run"] / report["html"], out / "runs" / second["run"] / report["html"]
        assert now.read_bytes() == earlier.read_bytes() and report["reused_from"] == first["run"]
    assert sorted(p.name for p in (out / "analysis" / second["run"] / "tables").iterdir()) == sorted(
        p.name for p in (out / "analysis" / first["run"] / "tables").iterdir()
    )
    assert not (out / "latest" / "tables").exists()  # the full tables are never published
    # Bảo Thắng sends its 2024 update again, with another figure: its report and the province's are redone.
    table = pd.read_csv(data / "submissions" / "086-2024-final.csv", dtype=str, keep_default_na=False)
    table.loc[table["Mã chỉ số"] == "O8", "Kết quả"] = "999"
    table.loc[table["Mã chỉ số"] == "P3", "Kết quả"] = "3"  # survivors supported: none before, now 3
    table.to_csv(data / "submissions" / "086-2024-final-lan-2.csv", index=False)
    with open(data / "inbox.csv", "a", encoding="utf-8") as inbox:
        inbox.write("086-2024-final-lan-2.csv,2025-02-10,accepted,\n")
    third, executions = _run(data, out)
    assert first["disclosure_compared_with"] == "" and third["disclosure_compared_with"] == second["run"]
    assert executions["085"] == ("reused", "unchanged")
    assert executions["086"] == executions["10"] == ("executed", "changed: tables")
    # The 3 survivors are withheld, and the province's total does not give them away by its change.
    assert _persons(out, third, "086", "P3") == formats.WITHHELD != _persons(out, second, "086", "P3")
    assert _persons(out, third, "10", "P3") in (formats.WITHHELD, _persons(out, second, "10", "P3"))
    # --force executes everything again.
    _, executions = _run(data, out, "--force")
    assert executions == dict.fromkeys(["10", "085", "086"], ("executed", "forced"))


def test_runs_that_start_in_the_same_second_get_folders_of_their_own(tmp_path):
    first = runner.new_run_folder(tmp_path, "20261206-001039-endline-vi")
    (first / "manifest.json").write_text("{}", encoding="utf-8")
    second = runner.new_run_folder(tmp_path, "20261206-001039-endline-vi")
    assert (first.name, second.name) == ("20261206-001039-endline-vi", "20261206-001039-endline-vi-2")
    assert (first / "manifest.json").read_text(encoding="utf-8") == "{}" and not any(second.iterdir())
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [first.name, second.name]  # in the order run


def _persons(out, manifest: dict, unit: str, code: str):
    """The persons of a code as a unit's report of a run shows them (its Excel twin)."""
    report = next(r for r in manifest["reports"] if r["unit"] == unit)
    rows = _sheet(out / "runs" / manifest["run"] / report["excel"], "so-nguoi")
    row = next(r for r in rows if r[labels.label("columns.indicator")] == code)
    return row[labels.label("columns.people")]


@pytest.mark.slow
def test_damage_in_the_published_folder_is_never_republished(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "outputs"
    shutil.copytree(DEMO, data)

    def run():
        manifest = d8_run("--review", "2024", "--units", "085", "--data", str(data), "--out", str(out))
        return manifest, {r["unit"]: (r["execution"], r["reason"]) for r in manifest["reports"]}

    first, _ = run()
    latest = out / "latest"
    report = next(r for r in first["reports"] if r["unit"] == "085")["html"]
    good = (latest / report).read_bytes()
    (latest / report).write_bytes(good[:100])  # truncated in place: the earlier run's link too
    second, executions = run()
    assert executions["085"] == ("executed", "published files missing or changed")
    assert (out / "latest" / report).read_bytes()[:200] == good[:200] and len((latest / report).read_bytes()) > 1000
    table = next((out / "analysis" / second["run"] / "tables").glob("*.parquet"))
    table.unlink()  # a deleted table: the run builds its tables again
    third, executions = run()
    assert (out / "analysis" / third["run"] / "tables" / table.name).is_file()
    assert table.name in third["tables"]["files"] and third["tables"]["shared"] is False and report in third["files"]
    (out / "latest" / "manifest.json").write_text('{"reports": [', encoding="utf-8")  # truncated
    _, executions = run()
    assert executions["085"] == ("executed", "no earlier report")


def test_the_cached_store_is_built_again_when_a_file_at_any_depth_or_the_code_changes(tmp_path, plan, monkeypatch):
    from d8lib.intake import inbox

    data, cache = tmp_path / "data", tmp_path / "cache"
    header, entry = (DEMO / "inbox.csv").read_text(encoding="utf-8").splitlines()[:2]
    (data / "submissions").mkdir(parents=True)
    (data / "inbox.csv").write_text(f"{header}\n{entry}\n", encoding="utf-8")  # one district's file
    name = entry.split(",")[0]
    shutil.copy(DEMO / "submissions" / name, data / "submissions" / name)
    first = inbox.prepare_store(plan, data, cache)
    assert inbox.prepare_store(plan, data, cache) == first  # nothing changed: the same store
    (data / "submissions" / "later").mkdir()
    (data / "submissions" / "later" / "note.txt").write_text("24", encoding="utf-8")
    second = inbox.prepare_store(plan, data, cache)
    (data / "submissions" / "later" / "note.txt").write_text("31", encoding="utf-8")  # edited in place
    third = inbox.prepare_store(plan, data, cache)
    monkeypatch.setattr(inbox, "code_fingerprint", lambda versions: "another d8")
    fourth = inbox.prepare_store(plan, data, cache)
    assert len({first, second, third, fourth}) == 4


def test_a_damaged_cached_store_is_built_again_from_the_inbox(tmp_path, plan):
    from d8lib.intake import inbox
    from d8lib.intake.store import Store

    data, cache = tmp_path / "data", tmp_path / "cache"
    header, entry = (DEMO / "inbox.csv").read_text(encoding="utf-8").splitlines()[:2]
    (data / "submissions").mkdir(parents=True)
    (data / "inbox.csv").write_text(f"{header}\n{entry}\n", encoding="utf-8")
    name = entry.split(",")[0]
    shutil.copy(DEMO / "submissions" / name, data / "submissions" / name)
    cached = inbox.prepare_store(plan, data, cache)
    expected = Store(cached).values()
    database = cached / "d8.sqlite"
    database.write_bytes(database.read_bytes()[:3000])  # cut short, as by a full disk
    assert not Store(cached).intact()
    again = inbox.prepare_store(plan, data, cache)
    assert again == cached and Store(again).intact()
    pd.testing.assert_frame_equal(
        Store(again).values().drop(columns="received_at"), expected.drop(columns="received_at")
    )


def test_a_new_cached_store_takes_in_only_the_files_after_what_an_earlier_one_holds(tmp_path, plan, monkeypatch):
    from d8lib.intake import inbox, submissions
    from d8lib.intake.store import Store

    data = tmp_path / "data"
    shutil.copytree(DEMO / "submissions", data / "submissions")
    lines = (DEMO / "inbox.csv").read_text(encoding="utf-8").splitlines()
    taken = []
    original = submissions.intake
    monkeypatch.setattr(
        submissions, "intake", lambda paths, *rest, **options: taken.extend(paths) or original(paths, *rest, **options)
    )
    (data / "inbox.csv").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")  # the first three files
    first = inbox.prepare_store(plan, data, tmp_path / "cache")
    (data / "inbox.csv").write_text("\n".join(lines[:7]) + "\n", encoding="utf-8")  # three more came
    taken.clear()
    grown = inbox.prepare_store(plan, data, tmp_path / "cache")
    assert grown != first and [p.name for p in taken] == [line.split(",")[0].split("/")[-1] for line in lines[4:7]]
    scratch = inbox.prepare_store(plan, data, tmp_path / "another-cache")  # all six taken in afresh
    assert (
        Store(grown)
        .values(current_only=False)
        .drop(columns="received_at")
        .equals(Store(scratch).values(current_only=False).drop(columns="received_at"))
    )
    assert (
        Store(grown)
        .submissions()
        .drop(columns="received_at")
        .equals(Store(scratch).submissions().drop(columns="received_at"))
    )

"""Operator-proof intake and command line: hostile files and unlucky situations each end
in a clear answer, within 1 GB of memory and 30 s, with the store as it was."""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, d8, filled_form, long_table
from hostile import FILES, GOOD

from d8lib.intake.store import Store
from d8lib.intake.submissions import intake

MEMORY_MB, SECONDS = 1024, 30


def state(folder: Path) -> tuple:
    """Everything a store folder holds: its tables row by row and every file's bytes."""
    database = folder / "d8.sqlite"
    tables = ()
    if database.exists():
        with sqlite3.connect(database) as connection:
            tables = tuple(
                tuple(connection.execute(f"SELECT * FROM {t} ORDER BY rowid"))
                for t in ("files", "submissions", "submitted_values", "warnings")
            )
    files = (
        tuple(
            sorted(
                (str(p.relative_to(folder)), p.read_bytes())
                for p in folder.rglob("*")
                if p.is_file() and p.name != "d8.sqlite"
            )
        )
        if folder.exists()
        else ()
    )
    return tables, files


@pytest.fixture(scope="module")
def stocked(tmp_path_factory, plan):
    """A store that already holds one accepted form (Bắc Hà, 2023)."""
    folder = tmp_path_factory.mktemp("stocked")
    form = filled_form(plan, "085", "2023", folder / "accepted.xlsx", GOOD)
    assert intake([form], Store(folder / "store"), plan, plan.units())[0].status == "accepted"
    return folder / "store"


def _measured(connection, path: str, store: str, plan) -> None:
    start = time.perf_counter()
    try:
        result = intake([path], Store(store), plan, plan.units())[0]
        answer = {
            "status": result.status,
            "codes": {p.code for p in result.problems if p.severity == "error"},
            "messages": [str(p) for p in result.problems],
        }
    except BaseException as exc:  # noqa: BLE001 - reported to the test as the failure it is
        answer = {"status": "crashed", "codes": set(), "messages": [repr(exc)]}
    answer["seconds"] = time.perf_counter() - start
    answer["megabytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    connection.send(answer)


def intake_measured(path: Path, store: Path, plan) -> dict:
    """Take one file in, in a child process; its answer with its time and peak memory."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_measured, args=(sending, str(path), str(store), plan))
    child.start()
    sending.close()
    answer = receiving.recv() if receiving.poll(SECONDS * 4) else {"status": "timeout"}
    child.join(10)
    if answer["status"] == "timeout":
        child.kill()
    return answer


@pytest.mark.parametrize("case", FILES, ids=lambda f: f.__name__)
def test_a_hostile_file_gets_a_clear_answer_within_bounds(case, plan, stocked, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(stocked, store)
    before = state(store)
    path, expected = case(tmp_path, plan)
    answer = intake_measured(path, store, plan)
    assert answer["status"] in ("accepted", "rejected"), answer
    if answer["status"] == "rejected":
        assert answer["codes"] & expected, answer
        assert not answer["codes"] & {"internal_error", "storage_failed"}, answer
        assert all(path.name in m and " / " in m for m in answer["messages"]), answer
        assert state(store) == before
    else:
        assert "accepted" in expected, answer
    assert answer["megabytes"] < MEMORY_MB and answer["seconds"] < SECONDS, answer


def test_a_file_beyond_the_limits_is_refused_before_it_is_parsed(plan, tmp_path):
    from hostile import far_cell

    path, _ = far_cell(tmp_path, plan)
    start = time.perf_counter()
    result = intake([path], Store(tmp_path / "store"), plan, plan.units())[0]
    assert result.status == "rejected" and time.perf_counter() - start < 2
    assert "20,000" in result.problems[0].message_en and "1,048,576" in result.problems[0].message_en


def test_a_rejected_file_creates_no_store(plan, tmp_path):
    bad = long_table(tmp_path / "bad.csv", [{"district": "Bắc Hà", "period": "2024", "indicator": "O1", "value": "-1"}])
    result = d8("intake", str(bad), "--store", str(tmp_path / "store"))
    assert result.returncode == 1 and "REJECTED" in result.stdout
    assert not (tmp_path / "store").exists()


def test_a_surprise_in_the_middle_of_a_batch_rejects_that_file_and_goes_on(plan, tmp_path, monkeypatch):
    import d8lib.intake.submissions as intake_module

    files = [filled_form(plan, code, "2024", tmp_path / f"{code}.xlsx", GOOD) for code in ("080", "082", "083")]
    original = intake_module.check

    def fails_on_the_second(submission, *args):
        if submission.path.name == "082.xlsx":
            raise KeyError("surprise")
        return original(submission, *args)

    monkeypatch.setattr(intake_module, "check", fails_on_the_second)
    results = intake(files, Store(tmp_path / "store"), plan, plan.units())
    assert [r.status for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1].d8_failed and results[1].problems[0].code == "internal_error"
    assert "surprise" in results[1].problems[0].message_en


def _take_in(path: str, store: str, plan, queue) -> None:
    queue.put(intake([path], Store(store), plan, plan.units())[0].status)


def test_the_same_file_sent_twice_at_the_same_moment_is_stored_once(plan, tmp_path):
    form = filled_form(plan, "085", "2024", tmp_path / "form.xlsx", GOOD)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [
        context.Process(target=_take_in, args=(str(form), str(tmp_path / "store"), plan, queue)) for _ in range(4)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    statuses = sorted(queue.get(timeout=5) for _ in children)
    assert statuses == ["accepted", "unchanged", "unchanged", "unchanged"]
    store = Store(tmp_path / "store")
    assert len(store.submissions()) == 1 and len(list(store.raw.iterdir())) == 1


def _full_disk(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_rejects_the_file_and_leaves_the_store_exactly_as_it_was(plan, stocked, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(stocked, store)
    before = state(store)
    form = filled_form(plan, "085", "2024", tmp_path / "form.xlsx", GOOD)
    # No file may grow beyond one page: the raw copy and SQLite's journal no longer fit.
    limit = 4096
    result = subprocess.run(
        [sys.executable, "-m", "d8lib.cli", "intake", str(form), "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        preexec_fn=_full_disk(limit),
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert "REJECTED" in result.stdout and ("disk is full" in result.stdout or "could not be stored" in result.stdout)
    assert "Traceback" not in result.stdout + result.stderr
    assert state(store) == before


def test_a_damaged_store_is_named_and_rebuilt_from_the_archive(plan, tmp_path):
    store = tmp_path / "store"
    forms = [
        filled_form(plan, "085", period, tmp_path / f"085-{period}.xlsx", GOOD, sent=sent)
        for period, sent in (("2023", "01/09/2023"), ("2024", "02/09/2024"))
    ]
    again = filled_form(
        plan, "085", "2024", tmp_path / "085-2024-again.xlsx", {"O1": dict(GOOD["O1"], value=25)}, sent="05/09/2024"
    )
    assert d8("intake", *map(str, forms), str(again), "--store", str(store)).returncode == 0
    original = Store(store)
    expected = original.values(current_only=False).drop(columns=["submission_id"])
    files = original.submissions()[["file", "district", "period", "sent_on", "superseded_by"]]
    (store / "d8.sqlite").write_bytes(b"this is not a database" * 100)
    late = filled_form(plan, "083", "2024", tmp_path / "083-2024.xlsx", GOOD)
    result = d8("intake", str(late), "--store", str(store))
    assert result.returncode == 4 and "damaged" in result.stdout and "d8 store rebuild" in result.stdout
    rebuilt = d8("store", "rebuild", "--store", str(store))
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    restored = Store(store)
    assert restored.values(current_only=False).drop(columns=["submission_id"]).equals(expected)
    assert restored.submissions()[["file", "district", "period", "sent_on", "superseded_by"]].equals(files)
    assert len(list(store.glob("d8.sqlite.damaged-*"))) == 1
    assert d8("intake", str(late), "--store", str(store)).returncode == 0


def test_file_names_cannot_forge_lines_in_the_log(plan, tmp_path):
    name = "x\nĐÃ NHẬN: fake.xlsx\x1b[2K.csv"
    path = long_table(tmp_path / name, [{"district": "Bắc Hà", "period": "2024", "indicator": "O1", "value": "-1"}])
    result = d8("intake", str(path), "--store", str(tmp_path / "store"))
    assert result.returncode == 1
    assert not any(line.startswith("ĐÃ NHẬN") for line in result.stdout.splitlines())
    assert "\x1b" not in result.stdout


# --- the command line -------------------------------------------------------------------------


def _demo_copy(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data, ignore=shutil.ignore_patterns("store"))
    return data


def _inbox_with(data: Path, line: str) -> None:
    with open(data / "inbox.csv", "a", encoding="utf-8") as inbox:
        inbox.write(line + "\n")


def _bad_units(tmp_path):
    return ["--units", "Huyện Không Có"], "Không Có"


def _out_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("a file", encoding="utf-8")
    return ["--out", str(tmp_path / "taken" / "outputs")], "outputs"


def _no_data_folder(tmp_path):
    return ["--data", str(tmp_path / "nowhere")], "nowhere"


def _no_inbox(tmp_path):
    data = _demo_copy(tmp_path)
    (data / "inbox.csv").unlink()
    return ["--data", str(data)], "inbox.csv"


def _inbox_outside(tmp_path):
    data = _demo_copy(tmp_path)
    _inbox_with(data, "../../../../etc/passwd,2024-09-01")
    return ["--data", str(data)], "etc/passwd"


def _inbox_file_missing(tmp_path):
    data = _demo_copy(tmp_path)
    _inbox_with(data, "bao-cao-bi-mat.xlsx,2024-09-01")
    return ["--data", str(data)], "bao-cao-bi-mat.xlsx"


def _inbox_bad_date(tmp_path):
    data = _demo_copy(tmp_path)
    first = (data / "inbox.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    _inbox_with(data, f"{first},9/9/2024")
    return ["--data", str(data)], "9/9/2024"


def _not_a_plan(tmp_path):
    (tmp_path / "plan.yaml").write_text("meta: {province: 3}\nindicators: []\ntargets: []\n", encoding="utf-8")
    return ["--plan", str(tmp_path / "plan.yaml")], "plan.yaml"


def _jobs_negative(tmp_path):
    return ["--jobs", "-1"], "-1"


def _bad_as_of(tmp_path):
    return ["--as-of", "30/9/2023"], "30/9/2023"


def _bad_phase(tmp_path):
    return ["--phase", "final"], "final"


ARGUMENTS = [
    _bad_units,
    _out_is_a_file,
    _no_data_folder,
    _no_inbox,
    _inbox_outside,
    _inbox_file_missing,
    _inbox_bad_date,
    _not_a_plan,
    _jobs_negative,
    _bad_as_of,
    _bad_phase,
]


@pytest.mark.parametrize("case", ARGUMENTS, ids=lambda f: f.__name__.strip("_"))
def test_a_bad_argument_or_folder_is_named_exits_2_and_leaves_nothing(case, tmp_path):
    arguments, named = case(tmp_path)
    out = tmp_path / "outputs"
    options = {"--phase": "midterm", "--out": str(out)}
    for key, value in zip(arguments[::2], arguments[1::2], strict=True):
        options[key] = value
    result = d8("run", *[part for pair in options.items() for part in pair], timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr
    assert " / " in result.stderr or "usage" in result.stderr
    assert not out.exists()


def test_exit_statuses_are_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for status in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |"):
        assert status in readme
    assert "d8 store rebuild" in readme and "limits.yaml" in readme


def test_a_damaged_store_in_the_data_folder_stops_the_run_before_anything_is_written(tmp_path):
    data = _demo_copy(tmp_path)
    (data / "store").mkdir()
    (data / "store" / "d8.sqlite").write_bytes(b"\0" * 4096)
    result = d8("run", "--phase", "midterm", "--data", str(data), "--out", str(tmp_path / "outputs"), timeout=120)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "d8 store rebuild" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    "arguments, named",
    [
        (["intake", "missing.xlsx"], "missing.xlsx"),
        (["intake", "README.md", "--store", "README.md"], "README.md"),
        (["intake", "README.md", "--sent", "09/09/2024"], "09/09/2024"),
        (["store", "rebuild", "--store", "README.md"], "README.md"),
    ],
)
def test_intake_arguments_are_checked_before_any_file_is_read(arguments, named, tmp_path):
    result = d8(*arguments)
    assert result.returncode == 2 and named in result.stderr and "Traceback" not in result.stderr

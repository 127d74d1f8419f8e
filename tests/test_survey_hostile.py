"""A hostile corpus for survey import: bombs, many members, forged and twin tables, huge
files, long, deep and malicious skip logic, impossible weights. Each goes through
``d8 survey import`` as an operator runs it, in its own process, and ends in a named
answer within 1 GB of memory and 30 s; a refusal leaves the data folder byte for byte
as it was, and no expression of a form is ever run."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT
from kobo import kobo_xlsx, odk_zip, write_form
from openpyxl import load_workbook
from test_survey_import import DEMO, _dataset, _hashes

MEMORY_MB, SECONDS = 1024, 30


# The child reports the high-water mark of its own address space as it exits: the
# rusage of a child started from a large test process counts the parent's pages too.
_REPORT_PEAK = (
    "import atexit, runpy, sys\n"
    "target = sys.argv.pop(1)\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith('VmHWM'))\n"
    "    open(target, 'w').write(kilobytes)\n"
    "atexit.register(peak)\n"
    "runpy.run_module('d8lib.cli', run_name='__main__')\n"
)


def import_measured(form: Path, export: Path, data: Path) -> dict:
    """``d8 survey import`` in a child process: its exit status, what it said, its time
    and its peak resident memory."""
    peak = data.parent / "peak.txt"
    command = [sys.executable, "-c", _REPORT_PEAK, str(peak), "survey", "import", "--form", str(form)]
    command += ["--export", str(export), "--round", "midterm", "--data", str(data)]
    start = time.perf_counter()
    with open(data.parent / "out.txt", "w+") as out, open(data.parent / "err.txt", "w+") as err:
        child = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True)
        try:
            child.wait(SECONDS * 3)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        seconds = time.perf_counter() - start
        out.seek(0), err.seek(0)
        said = out.read() + err.read()
    megabytes = int(peak.read_text()) / 1024 if peak.exists() else float("inf")
    return {"code": child.returncode, "said": said, "seconds": seconds, "megabytes": megabytes}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    midterm = pd.read_csv(DEMO / "survey" / "midterm-2024.csv", dtype={"district": str, "commune": str})
    return {
        "form": write_form(folder / "form.xlsx"),
        "xlsx": kobo_xlsx(midterm, folder / "export.xlsx"),
        # the first 12 villages, where a case needs a valid export only around its fault
        "small": kobo_xlsx(midterm[midterm.village.isin(midterm.village.unique()[:12])], folder / "small.xlsx"),
        "zip": odk_zip(midterm, folder / "export.zip"),
    }


def _members(source: Path, target: Path, extra: dict[str, bytes], deflate: bool = True) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            new.writestr(name, old.read(name))
        for name, data in extra.items():
            new.writestr(name, data, zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
    return target


def _weights(value: str):
    def change(base, folder):
        path = folder / "weights.xlsx"
        book = load_workbook(base["small"])
        sheet = book.worksheets[0]
        column = next(c.column for c in sheet[1] if c.value == "ho/weight")
        sheet.cell(4, column).value = value
        book.save(path)
        return base["form"], path

    return change


def _main_table(base) -> tuple[str, bytes]:
    with zipfile.ZipFile(base["zip"]) as archive:
        name = next(n for n in archive.namelist() if "-" not in n)
        return name, archive.read(name)


# name: (build(base, folder) -> (form, export), words the refusal says)
REFUSED = {
    "zip bomb": (
        lambda b, f: (b["form"], _members(b["zip"], f / "bomb.zip", {"khao_sat_phu_nu-x.csv": b"0" * (600 * 2**20)})),
        "unpacks",
    ),
    "20,000 members": (
        lambda b, f: (b["form"], _members(b["zip"], f / "many.zip", {f"media/{i}.jpg": b"" for i in range(20_000)})),
        "1000",
    ),
    "forged repeat table": (
        lambda b, f: (b["form"], _members(b["zip"], f / "forged.zip", {"evil-phu_nu.csv": b"age\n99\n"})),
        "no place for",
    ),
    "a second main table": (
        lambda b, f: (b["form"], _members(b["zip"], f / "twin.zip", {"other.csv": _main_table(b)[1]})),
        "no place for",
    ),
    "a 101 MB csv": (
        lambda b, f: (b["form"], _big_csv(f / "big.csv")),
        "100",
    ),
    "100,001 rows": (
        lambda b, f: (b["form"], _rows_csv(f / "rows.csv")),
        "100,000",
    ),
    "weight 1e308": (_weights("1e308"), "above 1000000"),
    "weight inf": (_weights("inf"), "not a finite number"),
    "weight 0": (_weights("0"), "below 1e-06"),
    "weight 1e-320": (_weights("1e-320"), "below 1e-06"),
}


def _big_csv(path: Path) -> Path:
    with open(path, "wb") as out:
        out.write(b"ho/village\n")
        out.write(b"x" * (101 * 2**20) + b"\n")
    return path


def _rows_csv(path: Path) -> Path:
    path.write_text("ho/village\n" + "v\n" * 100_001, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_hostile_export_is_refused_by_name_within_bounds_and_changes_nothing(case, base, tmp_path):
    build, words = REFUSED[case]
    form, export = build(base, tmp_path)
    data = _dataset(tmp_path)
    before = _hashes(data)
    answer = import_measured(form, export, data)
    assert answer["code"] == 1, answer
    assert words in answer["said"] and " / " in answer["said"] and "Traceback" not in answer["said"], answer
    assert answer["seconds"] < SECONDS and answer["megabytes"] < MEMORY_MB, answer
    assert _hashes(data) == before


PAYLOAD = "(age.__class__.__init__.__globals__['sys'].modules['os'].system)('touch {marker}')"
EXPRESSIONS = {
    "code in skip logic": lambda marker: PAYLOAD.format(marker=marker),
    "32,767 characters": lambda marker: "${age} > 1 or " * 2340 + "${age} > 1",
    "2,000 terms": lambda marker: " and ".join(["${age}>1"] * 2000),
    "brackets 5,000 deep": lambda marker: "(" * 5000 + "${age} > 1" + ")" * 5000,
}


@pytest.mark.parametrize("case", list(EXPRESSIONS))
def test_hostile_skip_logic_is_named_never_run_and_bounded(case, base, tmp_path):
    marker = tmp_path / "RAN"
    expression = EXPRESSIONS[case](marker)[:32767]  # what a cell of Excel holds
    form = write_form(tmp_path / "form.xlsx", relevant={"education": expression})
    data = _dataset(tmp_path)
    answer = import_measured(form, base["xlsx"], data)
    assert not marker.exists()
    assert answer["code"] in (0, 1) and "Traceback" not in answer["said"], answer
    assert "education" in answer["said"] and " / " in answer["said"], answer  # the condition named, not checked
    assert answer["seconds"] < SECONDS and answer["megabytes"] < MEMORY_MB, answer

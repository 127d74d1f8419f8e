"""Benchmark: ``d8 run`` for the province and 9 districts against the floor.

The floor is the same number of notebooks that only import the libraries the reports
use, executed with papermill and rendered to HTML exactly as the reports are, with the
same number of jobs. The script also times ``d8 run`` with one job against two.

    python benchmarks/bench_run.py [--jobs 2] [--phase midterm]

The store of the demo submissions is built once before timing (a run reuses it from
its cache), so the times compare steady-state runs.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from d8lib.core.paths import DATA_DIR
from d8lib.intake import inbox
from d8lib.ops import runner
from d8lib.plan.model import load_plan

FLOOR_IMPORTS = """%matplotlib inline
import matplotlib.pyplot
import numpy
import openpyxl
import pandas
import seaborn
from IPython.display import HTML, display

import d8lib.reports.display"""


def floor_notebook(folder: Path) -> Path:
    book = new_notebook(
        cells=[new_code_cell('unit = "10"', metadata={"tags": ["parameters"]}), new_code_cell(FLOOR_IMPORTS)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path = folder / "floor.ipynb"
    nbformat.write(book, path)
    return path


def time_floor(units: list[str], jobs: int, folder: Path) -> float:
    notebook = floor_notebook(folder)
    run_dir = folder / "floor-run"
    (run_dir / "notebooks").mkdir(parents=True)
    work = [runner.Job(u, u, f"floor-{u}", str(notebook), {"unit": u}, str(run_dir), "vi") for u in units]
    start = time.perf_counter()
    outcomes = runner._execute_all(work, jobs, progress=False)
    seconds = time.perf_counter() - start
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes if o.error]
    return seconds


def time_run(phase: str, jobs: int, out: Path) -> float:
    start = time.perf_counter()
    result = runner.run(phase, jobs=jobs, out_dir=out, progress=False, force=True)  # every report executed
    seconds = time.perf_counter() - start
    assert result.ok, [o.error for o in result.outcomes if o.error]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--phase", default="midterm")
    args = parser.parse_args()
    plan = load_plan()
    units = [plan.province] + list(plan.districts.unit)
    folder = Path(tempfile.mkdtemp(prefix="d8-bench-"))
    out = folder / "outputs"
    try:
        inbox.prepare_store(plan, DATA_DIR / "demo", out / "cache")  # warm the cache once
        floor = time_floor(units, args.jobs, folder)
        ours = time_run(args.phase, args.jobs, out)
        serial = time_run(args.phase, 1, out)
        print(f"reports: {len(units)} (province and {len(units) - 1} districts), phase {args.phase}")
        print(f"floor     {floor:7.1f} s with {args.jobs} jobs (import, execute and render only)")
        print(f"d8 run    {ours:7.1f} s with {args.jobs} jobs  -> {ours / floor:.2f}x the floor (aim: <= 1.5x)")
        print(
            f"d8 run    {serial:7.1f} s with 1 job   -> speed-up {serial / ours:.2f}x with {args.jobs} jobs "
            f"(aim: >= 1.6x)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

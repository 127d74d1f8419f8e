"""Benchmark: ``d8 run`` for the province and 9 districts against the floor.

The floor is the same number of notebooks that only import the libraries the reports
use, executed with papermill on a new kernel each and rendered to HTML with a new
nbconvert exporter of the reports' template (papermill and nbconvert run cold), with
the same number of jobs. The script also times ``d8 run`` with one job
against two, and the run's own reports, from its tables, on warm kernels (one per
worker, as ``d8 run`` does) against a new kernel per report.

    python benchmarks/bench_run.py [--jobs 2] [--phase midterm]

Each timed run has its own output folder, whose cache holds the store of the demo
submissions taken in before timing (a run reuses it), and nothing else: the survey's
estimates are computed in each run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from d8lib.core.paths import DATA_DIR
from d8lib.intake import inbox
from d8lib.ops import runner, worker
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


def _floor_report(notebook: str, unit: str, run_dir: str) -> None:
    """One floor notebook as papermill and nbconvert run it cold: a new kernel, then a new
    exporter of the report template (code hidden)."""
    import papermill as pm
    from nbconvert import HTMLExporter

    executed = Path(run_dir) / "notebooks" / f"floor-{unit}.ipynb"
    pm.execute_notebook(notebook, str(executed), parameters={"unit": unit}, kernel_name="python3", progress_bar=False)
    exporter = HTMLExporter(
        template_name="d8report",
        extra_template_basedirs=[str(worker.TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    (Path(run_dir) / f"floor-{unit}.html").write_text(body, encoding="utf-8")


def time_floor(units: list[str], jobs: int, folder: Path) -> float:
    notebook = floor_notebook(folder)
    run_dir = folder / "floor-run"
    (run_dir / "notebooks").mkdir(parents=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for done in [pool.submit(_floor_report, str(notebook), u, str(run_dir)) for u in units]:
            done.result()
    return time.perf_counter() - start


def _timed(work: list[worker.Job], jobs: int, warm: bool) -> float:
    start = time.perf_counter()
    outcomes = runner._execute_all(work, jobs, progress=False, warm=warm)
    seconds = time.perf_counter() - start
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes if o.error]
    return seconds


def time_reports(out: Path, jobs: int, warm: bool, folder: Path) -> float:
    """The published run's reports executed again from its tables and rendered."""
    latest = (out / "latest").resolve()
    run_dir = folder / f"reports-{'warm' if warm else 'cold'}"
    (run_dir / "notebooks").mkdir(parents=True)
    work = []
    for report in json.loads((latest / "manifest.json").read_text(encoding="utf-8"))["reports"]:
        executed = nbformat.read(latest / report["notebook"], as_version=4)
        parameters = {**executed.metadata.papermill.parameters, "excel_path": str(run_dir / report["excel"])}
        notebook = executed.metadata.papermill.input_path
        work.append(
            worker.Job(report["unit"], report["name"], report["unit"], notebook, parameters, str(run_dir), "vi")
        )
    return _timed(work, jobs, warm)


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
    out, out_serial = folder / "outputs", folder / "outputs-1-job"
    try:
        for each in (out, out_serial):  # each run's own cache, its store taken in before timing
            inbox.prepare_store(plan, DATA_DIR / "demo", each / "cache")
        floor = time_floor(units, args.jobs, folder)
        ours = time_run(args.phase, args.jobs, out)
        serial = time_run(args.phase, 1, out_serial)
        cold = time_reports(out, args.jobs, False, folder)
        warm = time_reports(out, args.jobs, True, folder)
        print(f"reports: {len(units)} (province and {len(units) - 1} districts), phase {args.phase}")
        print(f"floor     {floor:7.1f} s with {args.jobs} jobs (import, execute and render only)")
        print(f"d8 run    {ours:7.1f} s with {args.jobs} jobs  -> {ours / floor:.2f}x the floor (aim: <= 1.0x)")
        print(
            f"d8 run    {serial:7.1f} s with 1 job   -> speed-up {serial / ours:.2f}x with {args.jobs} jobs "
            f"(aim: >= 1.6x)"
        )
        print(f"reports   {cold:7.1f} s with {args.jobs} jobs, a new kernel per report")
        print(f"reports   {warm:7.1f} s with {args.jobs} jobs, a warm kernel per worker -> {warm / cold:.2f}x")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

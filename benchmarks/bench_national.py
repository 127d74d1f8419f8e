"""Benchmark: the national run on a LocalCluster with 1 and 2 workers.

A synthetic national dataset of K provinces (``d8 synth --national K``, Lào Cai first)
is written once; ``d8 national run --phase P --units U --force`` then runs every report
of every province (by default by commune: the province and its new communes) with 1
worker (the baseline) and with 2, in the same process. Printed for ``docs/scale.md``:
the speed-up, the worker time per report (workers x wall clock / reports, builds
included; aim: at most 1.5 s by commune), the per-report cost, and per province the
parts of its build (intake and survey estimates on two workers, then its tables).

    python benchmarks/bench_national.py [--provinces 3] [--phase midterm] [--units communes-2025]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from d8demo.national import generate_national
from d8lib.ops.national import national_run


def timed(data: Path, out: Path, phase: str, units: str, workers: int) -> tuple[float, dict]:
    start = time.perf_counter()
    result = national_run(phase, data_dir=data, out_dir=out, units=units, workers=workers, force=True, progress=False)
    seconds = time.perf_counter() - start
    assert result.ok, [r.get("error") for r in result.reports if r["status"] != "ok"]
    return seconds, json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", type=int, default=3)
    parser.add_argument("--phase", default="midterm")
    parser.add_argument("--units", default="communes-2025")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="d8-national-"))
    try:
        start = time.perf_counter()
        data = generate_national(folder / "data", args.provinces)
        written = time.perf_counter() - start
        one, _ = timed(data, folder / "one", args.phase, args.units, 1)
        two, manifest = timed(data, folder / "two", args.phase, args.units, 2)
        reports = manifest["reports"]
        built = manifest["provinces_built"].values()
        builds = [p["seconds"] for p in built]
        intakes, surveys = ([p["parts"].get(part, 0.0) for p in built] for part in ("intake", "survey"))
        alone = [i + s + b for i, s, b in zip(intakes, surveys, builds, strict=True)]  # as one task
        split = [max(i, s) + b for i, s, b in zip(intakes, surveys, builds, strict=True)]  # as three
        per_report = [r["seconds"] for r in reports]
        print(
            f"provinces: {args.provinces}, reports: {len(reports)}, phase {args.phase}, units {args.units} "
            f"(dataset written in {written:.0f} s)"
        )
        print(f"1 worker   {one:7.1f} s (the baseline)")
        print(f"2 workers  {two:7.1f} s -> speed-up {one / two:.2f}x (aim: >= 1.8x)")
        print(
            f"worker time per report: {one / len(reports):.2f} s with 1 worker, {2 * two / len(reports):.2f} s "
            "with 2 (aim by commune: <= 1.5 s)"
        )
        print(
            f"per province, on average: intake {statistics.mean(intakes):.1f} s, survey estimates "
            f"{statistics.mean(surveys):.1f} s, tables {statistics.mean(builds):.1f} s: the tables exist after "
            f"{statistics.mean(split):.1f} s (intake and survey on two workers) against {statistics.mean(alone):.1f} s "
            f"in one task (max {max(split):.1f} s against {max(alone):.1f} s)"
        )
        print(f"per report: {statistics.mean(per_report):.1f} s executed and rendered (max {max(per_report):.1f} s)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

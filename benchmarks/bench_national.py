"""Benchmark: the national run on a LocalCluster with 1 and 2 workers.

A synthetic national dataset of K provinces (``d8 synth --national K``, Lào Cai first)
is written once; ``d8 national run --phase P --units U --force`` then runs every report
of every province (by default by commune: the province and its new communes) with 1
worker (the baseline) and with 2, in the same process. Printed for ``docs/scale.md``:
the speed-up, the worker time per report (workers x wall clock / reports, builds
included; aim: at most 1.5 s by commune) and the per-report and per-province costs.

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
        builds = [p["seconds"] for p in manifest["provinces_built"].values()]
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
            f"per province: tables built in {statistics.mean(builds):.1f} s on average (max {max(builds):.1f} s); "
            f"per report: {statistics.mean(per_report):.1f} s executed and rendered (max {max(per_report):.1f} s)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark: what the communes' small-area estimates cost a run by commune.

The endline of the Lào Cai demo for the province and its 48 new communes
(``--units communes-2025``), run twice in this process on the same data, every report
executed (``force``): once as it is, once with the Fay-Herriot step left out (the
baseline). Reports the seconds of each, of building the tables, their ratio, and the
reports written (a commune with neither progress nor an estimate gets none).

    python benchmarks/bench_small_areas.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

import pandas as pd

from d8lib.ops import runner
from d8lib.reports import evaluate


def timed_run(out: Path, jobs: int) -> tuple[float, float, int]:
    """Seconds of the whole run and of building its tables; the reports written."""
    build, spent = evaluate.build, []

    def timed_build(*args, **kwargs):
        start = time.perf_counter()
        try:
            return build(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    start = time.perf_counter()
    with mock.patch.object(evaluate, "build", timed_build):
        result = runner.run("endline", units="communes-2025", jobs=jobs, out_dir=out, progress=False, force=True)
    seconds = time.perf_counter() - start
    assert result.ok, [o.error for o in result.outcomes if o.error]
    return seconds, sum(spent), sum(o.status == "ok" for o in result.outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="d8-small-areas-"))
    timed_run(folder / "warm-up", args.jobs)  # the store taken in, the imports done
    nothing = (pd.DataFrame(columns=["unit", "indicator"]), {})
    with mock.patch.object(evaluate, "small_areas", lambda *a, **k: nothing):
        without, without_build, without_reports = timed_run(folder / "without", args.jobs)
    with_small, with_build, with_reports = timed_run(folder / "with", args.jobs)
    print(f"without small areas: {without:6.1f} s, tables {without_build:.1f} s, {without_reports} reports")
    print(f"with small areas:    {with_small:6.1f} s, tables {with_build:.1f} s, {with_reports} reports")
    print(f"ratio: {with_small / without:.2f}x (tables {with_build / without_build:.2f}x)")
    print(f"per report: {without / without_reports:.2f} s without, {with_small / with_reports:.2f} s with")


if __name__ == "__main__":
    main()

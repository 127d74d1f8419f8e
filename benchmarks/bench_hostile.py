"""Benchmark: time and peak memory of intake on each hostile file of the test corpus,
against a good district form taken in by the same child process setup (the baseline).

    python benchmarks/bench_hostile.py

Each file is taken in by a forked child (as ``tests/test_hostile.py`` does); the peak
is the child's maximum resident set, which includes what it shares with the parent.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from helpers import filled_form  # noqa: E402
from hostile import FILES, GOOD  # noqa: E402
from test_hostile import intake_measured  # noqa: E402

from d8lib.plan.model import load_plan  # noqa: E402


def main() -> None:
    plan = load_plan()
    folder = Path(tempfile.mkdtemp(prefix="d8-hostile-"))
    try:
        baseline = intake_measured(filled_form(plan, "085", "2024", folder / "good.xlsx", GOOD), folder / "s0", plan)
        print(f"{'file':34} {'answer':22} {'seconds':>8} {'peak MB':>8} {'x time':>7} {'x memory':>8}")
        print(
            f"{'good form (baseline)':34} {baseline['status']:22} {baseline['seconds']:8.2f} "
            f"{baseline['megabytes']:8.0f} {1:7.1f} {1:8.2f}"
        )
        worst = {"seconds": 0.0, "megabytes": 0.0}
        for k, case in enumerate(FILES, start=1):
            path, _ = case(folder, plan)
            answer = intake_measured(path, folder / f"s{k}", plan)
            code = answer["status"] if answer["status"] != "rejected" else ",".join(sorted(answer["codes"]))
            print(
                f"{case.__name__:34} {code[:22]:22} {answer['seconds']:8.2f} {answer['megabytes']:8.0f} "
                f"{answer['seconds'] / baseline['seconds']:7.1f} {answer['megabytes'] / baseline['megabytes']:8.2f}"
            )
            worst = {key: max(worst[key], answer[key]) for key in worst}
        print(f"worst: {worst['seconds']:.2f} s, {worst['megabytes']:.0f} MB peak over {len(FILES)} files")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

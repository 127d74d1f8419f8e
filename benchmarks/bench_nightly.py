"""Benchmark: nightly runs of the Lào Cai demo that redo only what changed.

Three runs of ``d8 run --phase endline`` (the province and 9 districts), each as the
nightly job starts it, a new process, on a copy of the demo data folder:

1. the first run, which executes every report (the baseline);
2. the next night, nothing changed (aim: <= 2 s; no table is built, no report executed);
3. a night after one district sent a new file (aim: only the reports that read it,
   that district's and the province's, are executed).

    python benchmarks/bench_nightly.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from d8lib.core.paths import DATA_DIR


def nightly(data: Path, out: Path, jobs: int) -> tuple[float, dict]:
    command = [sys.executable, "-m", "d8lib.cli", "run", "--phase", "endline", "--jobs", str(jobs)]
    start = time.perf_counter()
    result = subprocess.run([*command, "--data", str(data), "--out", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((out / "latest" / "manifest.json").read_text(encoding="utf-8"))
    return seconds, {r["unit"]: r["execution"] for r in manifest["reports"]}


def send_new_file(data: Path, district: str = "086", period: str = "2025") -> None:
    """The district sends its update again, with one more policy dialogue."""
    table = pd.read_csv(data / "submissions" / f"{district}-{period}.csv", dtype=str, keep_default_na=False)
    rows = table["Mã chỉ số"] == "O8"
    table.loc[rows, "Kết quả"] = [str(int(v) + 1) for v in table.loc[rows, "Kết quả"]]
    table.to_csv(data / "submissions" / f"{district}-{period}-lan-2.csv", index=False)
    with open(data / "inbox.csv", "a", encoding="utf-8") as inbox:
        inbox.write(f"{district}-{period}-lan-2.csv,2025-09-20,accepted,\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="d8-nightly-"))
    data, out = folder / "data", folder / "outputs"
    shutil.copytree(DATA_DIR / "demo", data)
    try:
        first, _ = nightly(data, out, args.jobs)
        unchanged, executions = nightly(data, out, args.jobs)
        assert set(executions.values()) == {"reused"}, executions
        send_new_file(data)
        one_file, executions = nightly(data, out, args.jobs)
        executed = sorted(unit for unit, how in executions.items() if how == "executed")
        print(f"reports: {len(executions)} (province and {len(executions) - 1} districts), phase endline")
        print(f"first run        {first:6.1f} s (every report executed; the baseline)")
        print(f"nothing changed  {unchanged:6.1f} s -> {unchanged / first:.3f}x the first run (aim: <= 2 s)")
        print(
            f"one new file     {one_file:6.1f} s -> {one_file / first:.2f}x the first run; "
            f"executed {len(executed)} of {len(executions)}: {', '.join(executed)} (aim: 086 and 10 only)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Building submissions as districts make them: a filled form, a long table."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from d8lib.intake.forms import HEADER_ROW, REPORT_SHEET, fill, write_template

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"
# The read-only folder beside the project that holds the plan's source text.
PLAN_TEXT = ROOT.parent / "shared" / "sources" / "ke-hoach-355-KH-UBND-lao-cai-2022.txt"


def filled_form(plan, district: str, period: str, path: Path, values: dict, sent: str | None = "") -> Path:
    """Write the template and fill it in with openpyxl: ``values`` maps an indicator
    code to {column key: cell value}; ``sent`` is the date sent (default 01/09 of the
    period's year, None for none)."""
    write_template(plan, district, period, path)
    return fill(path, values, None if sent is None else (sent or f"01/09/{period[:4]}"))


def form_row(form: Path, code: str) -> int:
    """The sheet row of an indicator in a form."""
    sheet = load_workbook(form)[REPORT_SHEET]
    row = HEADER_ROW + 1
    while sheet[f"A{row}"].value != code:
        row += 1
    return row


def long_table(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    """Write a CSV long table; ``header`` renames the columns as a district might."""
    keys = list(dict.fromkeys(k for r in rows for k in r)) if rows else ["district", "period", "indicator", "value"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header or keys)
        for r in rows:
            writer.writerow([r.get(k, "") for k in keys])
    return path


def d8(*args: str, **options) -> subprocess.CompletedProcess:
    """Run the ``d8`` command as an operator does, from the project folder."""
    return subprocess.run(
        [sys.executable, "-m", "d8lib.cli", *args], capture_output=True, text=True, cwd=ROOT, **options
    )


def d8_run(*args: str, timeout: float = 600) -> dict:
    """Run ``d8 run`` with 2 jobs, require that it succeeds, and return the published
    run's manifest (``--out`` must be among ``args``)."""
    result = d8("run", *args, "--jobs", "2", timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "latest" / "manifest.json").read_text(encoding="utf-8"))

"""Benchmark: printing a report to an A4 PDF, WeasyPrint (what ``d8 run --pdf`` uses)
against headless Chromium (the baseline, where it is installed), on the same pages.

Renders the midterm reports of the province and one district once, then prints each
page with both, several times, and gives the median seconds, the ratio of WeasyPrint
to Chromium and the pages each PDF has.

    python benchmarks/bench_pdf.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader

from d8lib.ops import runner, worker


def chromium(page: Path, pdf: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={pdf}", page.as_uri()],
        capture_output=True, check=True, timeout=300,
    )  # fmt: skip


def timed(printer, page: Path, pdf: Path, repeat: int) -> tuple[float, int]:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        printer(page, pdf)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), len(PdfReader(pdf).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        result = runner.run("midterm", units="province,085", jobs=2, out_dir=out, progress=False)
        assert result.ok
        for page in sorted(result.run_dir.glob("[0-9]*.html")):
            weasy = timed(worker.print_pdf, page, out / "w.pdf", args.repeat)
            chrome = timed(chromium, page, out / "c.pdf", args.repeat)
            print(
                f"{page.name}: WeasyPrint {weasy[0]:.2f} s, {weasy[1]} pages; "
                f"Chromium {chrome[0]:.2f} s, {chrome[1]} pages; ratio {weasy[0] / chrome[0]:.2f}"
            )


if __name__ == "__main__":
    main()

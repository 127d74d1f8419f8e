"""A report worker: the process that executes report notebooks with papermill on its warm
kernel (``d8lib.ops.kernels``) and renders them to HTML, and the pool of them a run uses.

Workers are forked by a server process (multiprocessing's forkserver) that loaded
papermill, nbconvert and jupyter_client and compiled the report template once
(``PRELOAD``): ``d8 run`` starts the server first (``start_server``), so that while the
run reads its plan, checks what was asked and builds its tables, its workers need load
nothing before they start their kernels. A worker holds nothing of the run's process:
not its lock, not its memory; it watches the run and ends with it. This module loads
none of the run's own libraries (pandas): the server and every worker import it, and
the run's main module too, as multiprocessing does: a Python script that calls
``runner.run`` keeps its work under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import select
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from d8lib.core.atomic import write_text, write_whole
from d8lib.core.paths import PACKAGE_DIR

TEMPLATES = PACKAGE_DIR / "reports" / "templates"
KERNEL = "python3"  # ipykernel's own kernelspec, installed in every environment that has ipykernel
# A kernel starting on a busy machine (a cluster's workers on 2 cores) may take more than
# papermill's 60 s; a report fails for its start-up only past this.
KERNEL_START_SECONDS = 300
ERROR_CHARS = 2_000  # of a failed report's error kept in the manifest
# What the server loads before it forks a worker: all a worker needs but its kernel.
PRELOAD = ("d8lib.ops.preload",)
# The forkserver where there is one (Linux, macOS); elsewhere each worker starts anew.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

# jsonschema, which nbformat loads, goes without rfc3987-syntax: where that is installed,
# importing it compiles an Earley parser per IRI rule, 0.8 s in every process that loads
# papermill (python-jsonschema/jsonschema#1428); a notebook's schema checks no IRI format.
# Set here, before ``PRELOAD`` loads papermill.
sys.modules.setdefault("rfc3987_syntax", None)


@dataclass
class Job:
    """One report to produce."""

    unit: str
    name: str
    slug: str
    notebook: str
    parameters: dict
    run_dir: str
    lang: str
    pdf: bool = False  # an A4 PDF beside the HTML page
    inputs: dict = field(default_factory=dict)
    reason: str = ""


@dataclass
class Outcome:
    unit: str
    name: str
    html: str
    excel: str
    notebook: str
    pdf: str = ""
    status: str = "ok"  # or "failed", or "empty": nothing to report, listed on the index without a report
    seconds: float = 0.0
    error: str = ""
    failed_cell: int | None = None  # index in the executed notebook (papermill adds its parameters cell)
    failed_source: str = ""
    carried_from: str = ""  # the run that made this report, when a partial run carries it over
    execution: str = "executed"  # or "reused": unchanged since the published run, its files linked
    reason: str = ""  # why it was executed or reused (d8lib.ops.reuse.decide)
    inputs: dict = field(default_factory=dict)  # the digests of what it reads (d8lib.ops.reuse.report_inputs)
    reused_from: str = ""  # the run that executed a reused report


# --- one report ---------------------------------------------------------------------------


def execute(job: Job, warm: bool = True) -> Outcome:
    """Run one notebook with papermill, then render it; a failure is recorded, not raised.
    ``warm``: on this worker's kept kernel (``d8lib.ops.kernels``), else on a new one."""
    import papermill as pm

    from d8lib.ops import kernels

    run_dir = Path(job.run_dir)
    executed = run_dir / "notebooks" / f"{job.slug}.ipynb"
    page = run_dir / f"{job.slug}.html"
    outcome = Outcome(
        job.unit, job.name, page.name, Path(job.parameters.get("excel_path", "")).name, f"notebooks/{executed.name}"
    )
    start = time.perf_counter()
    try:
        engine = {}
        if warm:
            engine = kernels.engine(KERNEL, run_dir, KERNEL_START_SECONDS)
        pm.execute_notebook(
            job.notebook,
            str(executed),
            parameters=job.parameters,
            kernel_name=KERNEL,
            start_timeout=KERNEL_START_SECONDS,
            progress_bar=False,
            cwd=str(run_dir),
            log_output=False,
            **engine,
        )
        render(executed, page, job.name, job.lang)
        if job.pdf:
            outcome.pdf = print_pdf(page, page.with_suffix(".pdf")).name
    except Exception as exc:  # noqa: BLE001 - any failure of one report is recorded for the operator
        outcome.status = "failed"
        outcome.error = f"{getattr(exc, 'ename', type(exc).__name__)}: {getattr(exc, 'evalue', str(exc))}"[:ERROR_CHARS]
        outcome.failed_cell = getattr(exc, "cell_index", None)
        outcome.failed_source = str(getattr(exc, "source", ""))[:500]
        if outcome.failed_cell is None:
            outcome.error += "\n" + traceback.format_exc(limit=3)[-1500:]
    if warm:
        kernels.after_report(outcome.status == "ok")
    outcome.seconds = round(time.perf_counter() - start, 2)
    return outcome


def render(notebook: Path, page: Path, title: str, lang: str) -> Path:
    """Render an executed notebook as one self-contained HTML page, code hidden; what
    the kernel wrote to stderr (a library's warnings or notices) stays in the executed
    notebook, the run's record, and is not shown to readers."""
    import nbformat

    book = nbformat.read(notebook, as_version=4)
    book.metadata["title"] = title
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]
    body, _ = _exporter(lang).from_notebook_node(book)
    # The theme's CSS comments cite web pages; nothing in the page should even name one.
    body = re.sub(
        r"<style[^>]*>.*?</style>",
        lambda m: re.sub(r"/\*.*?\*/", "", m.group(0), flags=re.DOTALL),
        body,
        flags=re.DOTALL,
    )
    return write_text(page, body)


_exporters = threading.local()  # per worker thread: the report template, compiled once per language


def _exporter(lang: str):
    """nbconvert's HTML exporter of the report template, code hidden, in ``lang``."""
    from nbconvert import HTMLExporter

    kept = _exporters.__dict__.setdefault("by_lang", {})
    if lang not in kept:
        kept[lang] = HTMLExporter(
            template_name="d8report",
            extra_template_basedirs=[str(TEMPLATES)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        kept[lang].language_code = lang
    return kept[lang]


def print_pdf(page: Path, pdf: Path) -> Path:
    """A rendered report as an A4 PDF by its print style (WeasyPrint: a Python library, the
    same on every machine; ``benchmarks/bench_pdf.py`` compares it with headless Chromium)."""
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # the theme's CSS has rules print ignores
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return write_whole(pdf, lambda partial: weasyprint.HTML(filename=str(page)).write_pdf(str(partial)))


def pdf_available() -> bool:
    """Whether PDFs can be printed here (WeasyPrint and its system libraries)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


# --- the pool ------------------------------------------------------------------------------


def start_server() -> None:
    """Start the process that forks the workers, loading ``PRELOAD``, unless it runs."""
    if START_METHOD == "forkserver":
        from multiprocessing import forkserver

        forkserver.set_forkserver_preload(list(PRELOAD))
        forkserver.ensure_running()


@contextmanager
def pool(workers: int, log: str = "", warm_for: str = ""):
    """A pool of ``workers`` report processes. They write their kernels' messages to
    ``log``, and end with the run; an interruption ends them at once. With ``warm_for``
    (the reports' language) each starts its kernel and prepares itself at once, before
    any report is given to it."""
    start_server()
    context = multiprocessing.get_context(START_METHOD)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_started, initargs=(log, os.getpid())
    ) as executor:
        # A worker is forked once the server has loaded what it preloads: the run goes on.
        warming = threading.Thread(target=_warm_up, args=(executor, workers if warm_for else 0, warm_for))
        warming.start()
        try:
            yield executor
        except BaseException:
            warming.join()  # no worker is forked after this
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        else:
            warming.join()


def _warm_up(executor: ProcessPoolExecutor, workers: int, lang: str) -> None:
    with contextlib.suppress(BrokenProcessPool):  # the run's own reports then say that a worker ended
        for _ in range(workers):
            executor.submit(_start_worker, lang)


def _started(log: str, run: int) -> None:
    """In each report worker: leave signals to the run (which ends its workers), end when
    the run's process ``run`` ends, even killed, and send what the worker and its kernels
    write on stderr to ``log``, out of the operator's log."""
    import signal

    if log:
        stream = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(stream, 2)
        os.close(stream)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(run,), daemon=True).start()


def _end_with(run: int) -> None:
    """End this worker (SIGTERM; its kernels follow it) when the process ``run`` ends.
    The worker's parent is the server, which lives while any worker does: the worker
    watches the run itself."""
    import signal

    try:
        watched = os.pidfd_open(run)  # Linux: woken when the run ends
    except (AttributeError, OSError):
        watched = None
    if watched is not None:
        select.select([watched], [], [])
    else:
        while _alive(run):
            time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # a signal that is never sent: only whether the process is there
    except ProcessLookupError:
        return False
    except PermissionError:  # there, owned by another user
        pass
    return True


def _start_worker(lang: str) -> None:
    """In a report worker: its kernel started and warmed (``d8lib.ops.kernels``), then the
    worker's own first-use work for reports in ``lang`` (``prepare``). A kernel
    that does not start is left to the first report, which records why."""
    from d8lib.ops import kernels

    with contextlib.suppress(Exception):
        kernels.kernel(KERNEL, KERNEL_START_SECONDS)
        prepare(lang)


def prepare(lang: str) -> None:
    """Load papermill and compile the report template in ``lang``, as a worker's first
    report would: once in the server, for every worker it forks (``d8lib.ops.preload``).
    Where workers start anew (no forkserver), in each, after its kernel's warm-up, not
    during it: Linux schedules a worker in one group with the run's process, which builds
    the tables every report waits for (a kernel runs in a session of its own)."""
    import nbformat
    import papermill  # noqa: F401

    from d8lib.ops import engine  # noqa: F401

    _exporter(lang).from_notebook_node(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("d8")]))

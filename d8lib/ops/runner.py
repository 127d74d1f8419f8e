"""The run: execute the report notebooks for the province and each district with
papermill, render them to self-contained HTML, write the index and the manifest, and
publish the run atomically.

``run`` is a short sequence of steps: ``_checked`` (what was asked, resolved and
checked before anything is written), then under the lock that keeps two runs on one
output folder apart: ``_fingerprint`` (the run's key; the same as the published run's:
nothing changed), the report workers (``d8lib.ops.worker``, unless nothing changed),
the store (``prepare_store``), ``_jobs`` (a report per unit), ``_reports`` (the tables
once, then each report reused or run on a worker: ``execute`` one notebook, ``render``
one HTML page) and ``_record``
(``write_index``, ``write_manifest``, then ``publish``: ``<out>/latest`` switched to a
run that fully succeeded).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import html
import itertools
import json
import os
import platform
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path

import pandas as pd

from d8lib.core.atomic import write_text
from d8lib.core.digests import code_fingerprint, sha256_file
from d8lib.core.errors import InputError
from d8lib.core.labels import label, review_name, unit_name
from d8lib.core.paths import DATA_DIR, NOTEBOOKS_DIR, default_standard_path, run_cache
from d8lib.core.text import ascii_key, printable
from d8lib.intake.inbox import prepare_store, read_inbox
from d8lib.intake.store import JOURNAL, Store
from d8lib.ops import reuse, worker
from d8lib.ops.worker import Job, Outcome
from d8lib.plan.model import Plan, load_plan
from d8lib.reports import dates
from d8lib.reports.disclosure import Earlier
from d8lib.reports.formats import fmt

PACKAGES = [
    "pandas",
    "numpy",
    "scipy",
    "matplotlib",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "openpyxl",
    "pyyaml",
]


class RunLocked(RuntimeError):
    """Another run holds the output folder."""


PUBLISHED = ("ok", "empty")  # the outcomes of a run that can be published


@dataclass
class RunResult:
    run_dir: Path
    outcomes: list[Outcome] = field(default_factory=list)
    published: bool = False
    error: str = ""  # why the run's tables could not be built

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.outcomes) and all(o.status in PUBLISHED for o in self.outcomes)


class RunInterrupted(BaseException):
    """A run stopped by SIGTERM or SIGINT; nothing of it is published. Like
    ``KeyboardInterrupt``, no ``except Exception`` takes it for a failure to report."""


@contextmanager
def run_lock(out_dir: Path):
    """Hold ``<out>/.lock`` for the length of a run; a second run gets ``RunLocked``.

    The lock is the kernel's (``flock``): it ends with the process that holds it, and
    no report worker holds a copy (``d8lib.ops.worker``), so a run killed with SIGKILL
    leaves nothing that blocks the next. The file names the holder's process; a run
    that finds the name of a process that ended without clearing it says that it
    takes over."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = open(out_dir / ".lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise RunLocked(f"Một lượt chạy khác đang dùng {out_dir} / Another run is using {out_dir}") from exc
    try:
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            print(
                f"Lượt chạy trước (tiến trình {previous}) đã dừng giữa chừng; lượt này tiếp quản khóa / "
                f"The previous run (process {previous}) stopped before it finished; this run takes over the lock",
                file=sys.stderr,
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:  # a run that ends, well or with an error, clears its name; only a killed one leaves it
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@contextmanager
def _stopped_by_signals():
    """SIGTERM and SIGINT stop the run with ``RunInterrupted`` (workers are then ended)."""
    import signal

    def stop(number, _frame):
        raise RunInterrupted(f"Lượt chạy bị dừng bởi tín hiệu {number} / The run was stopped by signal {number}")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def input_files(data_dir: Path, plan: Plan, notebooks: Path) -> list[Path]:
    """Every file a run reads: the data folder, the plan, its unit tables, rules,
    definitions, the presentation standard, labels and the notebooks."""
    files = [p for p in data_dir.rglob("*") if p.is_file() and "store" not in p.relative_to(data_dir).parts]
    files += [plan.path] + sorted(plan.units_dir.glob("*.csv"))
    files += sorted((DATA_DIR / "rules").glob("*.yaml"))
    files += [
        DATA_DIR / "evaluation.yaml",
        DATA_DIR / "indicators" / "outcomes.yaml",
        DATA_DIR / "indicators" / "survey_variables.yaml",
        DATA_DIR / "labels.yaml",
        DATA_DIR / "config.yaml",
        default_standard_path(),
    ]
    files += sorted(notebooks.glob("*.ipynb"))
    return sorted(set(files))


def select_units(plan: Plan, units: str) -> list[str]:
    """``all`` (the province and its districts), ``province``, the level of the new units
    after the reform (``communes-2025``: the province and every new commune), or a
    comma-separated list of district or new-commune codes or names."""
    from d8lib.units.registry import UnitError

    districts = list(plan.districts.unit)
    reporters = plan.reporting_units()
    if units in ("", "all"):
        return [plan.province] + districts
    # A level is asked in the plural: "communes-2025" for the units of level commune_2025.
    levels = {level.replace("_", "s-", 1): level for level in reporters.level.unique() if level != "province"}
    if units in levels:
        return [plan.province, *reporters.unit[reporters.level == levels[units]]]
    chosen = []
    resolver = plan.units()
    for item in (u.strip() for u in units.split(",") if u.strip()):
        if item == "province" or item == plan.province:
            chosen.append(plan.province)
        elif item in set(reporters.unit):
            chosen.append(item)
        else:
            try:
                chosen.append(resolver.resolve(item, level=plan.unit_level))
            except UnitError as exc:
                for level in levels.values():
                    try:
                        chosen.append(resolver.resolve(item, level=level))
                        break
                    except UnitError:
                        continue
                else:
                    raise InputError(f"--units: {exc.message_vi}", f"--units: {exc.message_en}") from None
    if not chosen:
        raise InputError(f"--units không chọn đơn vị nào: «{units}»", f"--units chooses no unit: '{units}'")
    return list(dict.fromkeys(chosen))


def check_folders(data_dir: Path, out_dir: Path) -> None:
    """The data folder holds a store or an inbox, and the output folder can be written."""
    if not data_dir.is_dir():
        raise InputError(f"Không có thư mục số liệu {data_dir}", f"No data folder {data_dir}")
    if not (data_dir / "store" / "d8.sqlite").exists() and not (data_dir / "inbox.csv").is_file():
        raise InputError(
            f"Thư mục số liệu {data_dir} không có kho (store/) cũng không có inbox.csv",
            f"The data folder {data_dir} has neither a store (store/) nor an inbox.csv",
        )
    existing = out_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"Không ghi được vào thư mục kết quả {out_dir}", f"Cannot write the output folder {out_dir}")


# --- one report ---------------------------------------------------------------------------


# --- the run ------------------------------------------------------------------------------


def _versions() -> dict:
    found = {"python": platform.python_version(), "d8lib": metadata.version("d8lib")}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def write_index(run_dir: Path, outcomes: list[Outcome], meta: dict, lang: str) -> Path:
    """The run's front page: for readers, each unit's report (HTML, PDF, Excel) or that it
    has nothing to report; below, for the operator, each report's status, time and error."""

    def say(key: str, **values) -> str:
        return label(f"index.{key}", lang).format(**values)

    def link(name: str, text: str) -> str:
        return f"<a href='{html.escape(name)}'>{text}</a>" if name else ""

    readers, operators = [], []
    for o in outcomes:
        files = [link(o.html, say("page")), link(o.pdf, "PDF"), link(o.excel, "Excel")] if o.status == "ok" else []
        shown = " · ".join(f for f in files if f) or html.escape(say("empty" if o.status == "empty" else "missing"))
        readers.append(f"<tr class='{o.status}'><td>{html.escape(o.name)}</td><td>{shown}</td></tr>")
        status = say({"ok": "done", "empty": "empty"}.get(o.status, "failed"))
        if o.carried_from:
            status += " " + say("carried", run=o.carried_from)
        elif o.execution == "reused":
            status += " " + say("reused", run=o.reused_from)
        error = html.escape(o.error.splitlines()[0] if o.error else "")
        cell = "" if o.failed_cell is None else " " + say("cell", cell=o.failed_cell)
        seconds = "" if o.status == "empty" else fmt(o.seconds, 1, lang)
        operators.append(
            f"<tr class='{o.status}'><td>{html.escape(o.name)}</td><td>{status}</td>"
            f"<td>{seconds}</td><td>{error}{cell}</td></tr>"
        )
    title = say("title")
    as_of = dt.date.fromisoformat(meta["as_of"]).strftime("%d/%m/%Y")
    started = dt.datetime.fromisoformat(meta["started"]).strftime("%d/%m/%Y %H:%M")
    what = meta.get("review_title") or label(f"phase.{meta['phase']}", lang)
    notes = (
        f"<p class='illustration'><strong>{html.escape(meta['illustration'])}</strong></p>"
        if meta.get("illustration")
        else ""
    )
    if meta.get("error"):
        notes += (
            f"<p class='error'><strong>{say('tables_failed')}:</strong> {html.escape(printable(meta['error']))}</p>"
        )
    head = "".join(f"<th>{say(k)}</th>" for k in ("unit", "files"))
    operator_head = "".join(f"<th>{say(k)}</th>" for k in ("report", "status", "seconds", "error"))
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style>body{{font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2933}}
table{{border-collapse:collapse;width:100%}}th,td{{border-bottom:1px solid #d9e2ec;padding:.35rem .5rem;text-align:left}}
th{{background:#f0f4f8}}tr.failed td,p.error{{color:#9b1c1c}}h2{{margin-top:2.5rem}}
section.operator{{color:#52606d;font-size:.9rem}}</style></head>
<body><h1>{title}: {html.escape(what)}</h1><p>{html.escape(say("as_of", as_of=as_of))}</p>{notes}
<table><thead><tr>{head}</tr></thead><tbody>{"".join(readers)}</tbody></table>
<section class="operator"><h2>{say("operator")}</h2><p>{html.escape(say("started", started=started))}</p>
<table><thead><tr>{operator_head}</tr></thead><tbody>{"".join(operators)}</tbody></table></section></body></html>
"""
    path = run_dir / "index.html"
    return write_text(path, page)


def new_run_folder(out_dir: Path, name: str) -> Path:
    """A new folder ``<out>/runs/<name>``; ``<name>-2``, ``-3``... when a run that started
    in the same second has the name (runs on one output folder hold its lock in turn)."""
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        folder = runs / (name if number == 1 else f"{name}-{number}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder


def analysis_tables(out_dir: Path, run_id: str) -> Path:
    """Where a run keeps its full tables (``<out>/analysis/<run>/tables``): every
    estimate and count before disclosure control, for analysts; outside the run's
    folder, so that ``latest`` never shares them."""
    return out_dir / "analysis" / run_id / "tables"


def earlier_publication(out_dir: Path, phase: str, review: str) -> tuple[str, Earlier]:
    """The last published run of the same phase and review (in any language), and what it
    showed of the counts of persons, against which a new run's protection is chosen: a
    run is published when its manifest says ``ok``. Nothing to compare with when there
    is none or its full tables are gone."""
    for manifest_path in sorted((out_dir / "runs").glob("*/manifest.json"), reverse=True):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # a damaged manifest was never a published run's
        if not isinstance(manifest, dict) or manifest.get("status") != "ok":
            continue
        if (manifest.get("phase"), manifest.get("review")) != (phase, review):
            continue
        record = analysis_tables(out_dir, manifest_path.parent.name) / "disclosure.parquet"
        if record.is_file():
            return manifest_path.parent.name, Earlier.from_record(pd.read_parquet(record))
        return "", Earlier()
    return "", Earlier()


def write_manifest(
    run_dir: Path, outcomes: list[Outcome], meta: dict, inputs: dict, versions: dict, tables: Path
) -> Path:
    """The run's record: parameters, the SHA-256 of every input file, versions, per
    report its status, whether it was executed or reused and why, and its input digests,
    the SHA-256 of every file the run publishes, and its full tables (not shared)."""
    manifest = {
        **meta,
        "finished": dt.datetime.now().isoformat(timespec="seconds"),
        "status": "ok" if not meta.get("error") and all(o.status in PUBLISHED for o in outcomes) else "failed",
        "versions": versions,
        "inputs": inputs,
        "reports": [asdict(o) for o in outcomes],
        "files": reuse.file_digests(run_dir),
        "tables": {"folder": str(tables), "shared": False, "files": reuse.file_digests(tables)},
    }
    path = run_dir / "manifest.json"
    return write_text(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def publish(out_dir: Path, run_dir: Path) -> Path:
    """Point ``<out>/latest`` at ``run_dir`` in one atomic step."""
    latest = out_dir / "latest"
    temporary = out_dir / f".latest-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(run_dir.relative_to(out_dir), target_is_directory=True)
    os.replace(temporary, latest)
    return latest


@dataclass
class Request:
    """A run as asked for, checked and resolved (``_checked``): nothing is written before."""

    phase: str
    review: str
    as_of: dt.date
    lang: str
    pdf: bool
    force: bool
    jobs: int
    units: list[str]
    plan: Plan
    data_dir: Path
    out_dir: Path
    notebooks: Path
    progress: bool

    @property
    def settings(self) -> dict:
        """What, besides the inputs' files and d8's code, makes a report what it is."""
        return {
            "phase": self.phase,
            "review": self.review,
            "as_of": self.as_of.isoformat(),
            "lang": self.lang,
            "pdf": self.pdf,
        }


def run(
    phase: str = "",
    units: str = "all",
    jobs: int | None = None,
    lang: str = "vi",
    data_dir: Path | None = None,
    plan_path: Path | None = None,
    out_dir: Path = Path("outputs"),
    as_of: dt.date | None = None,
    notebooks: Path = NOTEBOOKS_DIR,
    progress: bool = True,
    review: str = "",
    force: bool = False,
    pdf: bool = False,
) -> RunResult:
    """Produce the reports of a phase (the evaluation notebook), or of a progress
    ``review`` (the monitoring notebook: "YYYY", "YYYY-06" or "adhoc" with ``as_of``),
    for the units asked, and publish them if all succeed.

    What was given is checked first (``InputError``, nothing written). A run of some
    units carries over the last published reports of the others (same phase, review
    and language), so that publishing it hides none of them. A report whose inputs are
    those of its published version is reused, not executed (``d8lib.ops.reuse``), unless
    ``force``. With ``pdf`` each report also gets an A4 PDF beside its HTML page."""
    worker.start_server()  # loads what the workers need while the run checks, as they may be needed
    request = _checked(
        phase, units, jobs, lang, data_dir, plan_path, out_dir, as_of, notebooks, progress, review, force, pdf
    )
    with run_lock(request.out_dir), _stopped_by_signals():
        started = dt.datetime.now()
        name = f"review-{request.review}" if request.review else request.phase
        run_dir = new_run_folder(request.out_dir, f"{started:%Y%m%d-%H%M%S}-{name}-{request.lang}")
        run_id = run_dir.name
        (run_dir / "notebooks").mkdir()
        tables_dir = analysis_tables(request.out_dir, run_id)  # full tables: for analysts, never published
        hashes, versions, code, key = _fingerprint(request)
        earlier = reuse.published(request.out_dir)
        unchanged = not request.force and earlier and earlier.get("run_key") == key and earlier.get("status") == "ok"
        # Unless nothing changed, the workers start their kernels while the store and the tables are built.
        size = max(1, min(request.jobs, len(request.units)))
        log = str(run_dir / "notebooks" / "kernels.log")
        with contextlib.nullcontext() if unchanged else worker.pool(size, log, warm_for=request.lang) as pool:
            store_dir = prepare_store(request.plan, request.data_dir, run_cache(request.out_dir / "cache"))
            work = _jobs(request, run_dir, store_dir, tables_dir)
            outcomes, error, compared_with = _reports(
                request, run_dir, store_dir, tables_dir, work, code, earlier, pool, log
            )
        meta = {
            "run": run_id,
            "run_key": key,
            "phase": request.phase,
            "review": request.review,
            "review_title": review_name(request.review, request.lang, request.plan) if request.review else "",
            "illustration": (request.plan.meta.get("illustration") or {}).get(request.lang, ""),
            "as_of": request.as_of.isoformat(),
            "lang": request.lang,
            "units": request.units,
            "jobs": request.jobs,
            "data_dir": str(request.data_dir),
            "plan": str(request.plan.path),
            "store": str(store_dir),
            "started": started.isoformat(timespec="seconds"),
            "error": error,
            "disclosure_compared_with": compared_with,
        }
        return _record(request, run_dir, outcomes, meta, hashes, versions, tables_dir)


def _checked(
    phase: str,
    units: str,
    jobs: int | None,
    lang: str,
    data_dir: Path | None,
    plan_path: Path | None,
    out_dir: Path,
    as_of: dt.date | None,
    notebooks: Path,
    progress: bool,
    review: str,
    force: bool,
    pdf: bool,
) -> Request:
    """The run asked for, resolved (its date, phase, units and folders) and checked:
    what is wrong with it raises ``InputError`` or ``StoreError`` before anything is written."""
    out_dir = Path(out_dir).resolve()
    data_dir = Path(data_dir or DATA_DIR / "demo").resolve()
    plan = load_plan(plan_path)
    if review:
        as_of = as_of or dates.review_date(plan, review)
        phase = dates.phase_at(as_of)
    as_of = as_of or dates.default_as_of(phase)
    chosen = select_units(plan, units)
    check_folders(data_dir, out_dir)
    if pdf and not worker.pdf_available():
        raise InputError(
            "--pdf cần thư viện WeasyPrint: pip install 'd8lib[pdf]'",
            "--pdf needs WeasyPrint: pip install 'd8lib[pdf]'",
        )
    if (data_dir / "store" / "d8.sqlite").exists():
        Store(data_dir / "store").submissions()  # a damaged store says so now (StoreError), not in every report
    else:
        read_inbox(data_dir)
    jobs = jobs or os.cpu_count() or 1
    return Request(
        phase, review, as_of, lang, pdf, force, jobs, chosen, plan, data_dir, out_dir, Path(notebooks), progress
    )


def _jobs(request: Request, run_dir: Path, store_dir: Path, tables_dir: Path) -> list[Job]:
    """One report to make per unit asked, with the parameters its notebook receives."""
    names = request.plan.reporting_units().set_index("unit").name
    notebook = request.notebooks / ("monitoring.ipynb" if request.review else "evaluation.ipynb")
    work = []
    for unit in request.units:
        slug = f"{unit}-{ascii_key(names[unit]).replace(' ', '-')}"
        parameters = dict(
            phase=request.phase,
            unit=unit,
            as_of=request.as_of.isoformat(),
            lang=request.lang,
            data_dir=str(request.data_dir),
            plan_path=str(request.plan.path),
            store_dir=str(store_dir),
            tables_dir=str(tables_dir),
            excel_path=str(run_dir / f"{slug}.xlsx"),
        )
        if request.review:  # the monitoring notebook takes no phase or date: its tables say them
            parameters = {k: v for k, v in parameters.items() if k not in ("phase", "as_of")}
        name = unit_name(names[unit], request.lang)
        work.append(Job(unit, name, slug, str(notebook), parameters, str(run_dir), request.lang, request.pdf))
    return work


def _fingerprint(request: Request) -> tuple[dict, dict, str, str]:
    """The SHA-256 of every input file, the versions of the libraries, d8's code and the
    run's key: a run whose key is that of the published run changes nothing."""
    files = input_files(request.data_dir, request.plan, request.notebooks)
    hashes = {str(p): sha256_file(p) for p in files}
    versions = _versions()
    code = code_fingerprint(versions)
    settings = {**request.settings, "units": request.units}
    return hashes, versions, code, reuse.run_key({**hashes, "store": _store_digest(request.data_dir)}, code, settings)


def _reports(
    request: Request,
    run_dir: Path,
    store_dir: Path,
    tables_dir: Path,
    work: list[Job],
    code: str,
    earlier: dict | None,
    pool: ProcessPoolExecutor | None,
    log: str,
) -> tuple[list[Outcome], str, str]:
    """Every report of the run: without ``pool`` (nothing changed since the published
    run, ``earlier``) taken over whole; otherwise the run's tables, built once, then each
    report reused or executed on ``pool`` (on a new pool of workers that write to
    ``log`` when the published run's files were gone). Returns
    the outcomes, the error that stopped the tables (or ""), and the run the protection
    of persons compared with."""
    from d8lib.reports import evaluate  # the estimators load here, while the report workers start

    out_dir, data_dir, plan = request.out_dir, request.data_dir, request.plan
    if pool is None:
        outcomes = _reuse_run(earlier, out_dir, run_dir, work)  # no table is built
        if outcomes is not None:
            return outcomes, "", ""
    compared_with = ""
    try:  # the run's tables, once: every report reads them as Parquet files
        # A review reads only the latest round's small areas; an evaluation without a survey says so.
        survey = data_dir if evaluate.has_survey(data_dir) else None
        areas = evaluate.commune_areas(data_dir)
        compared_with, shown_before = earlier_publication(out_dir, request.phase, request.review)
        bundle = evaluate.build(
            plan,
            survey,
            Store(store_dir),
            request.phase,
            request.as_of,
            review=request.review,
            areas=areas,
            earlier=shown_before,
            cache=run_cache(out_dir / "cache"),
        )
        bundle.save(tables_dir)
    except Exception as exc:  # noqa: BLE001 - the reason goes to the index and the manifest
        error = f"{type(exc).__name__}: {exc}"
        failed = [Outcome(j.unit, j.name, "", "", "", status="failed", error=error) for j in work]
        return failed, error, compared_with
    records = {r["unit"]: r for r in (earlier or {}).get("reports", [])}
    outcomes, to_run = [], []
    empty = {job.unit for job in work if not bundle.has_content(job.unit)}  # listed on the index, no report
    digests = bundle.digests([job.unit for job in work if job.unit not in empty])
    for job in work:
        if job.unit in empty:
            outcomes.append(Outcome(job.unit, job.name, "", "", "", status="empty"))
            continue
        job.inputs = reuse.report_inputs(
            digests[job.unit], Path(job.notebook), code, {**request.settings, "unit": job.unit}
        )
        reusable, job.reason = reuse.decide(records.get(job.unit), job.inputs, request.force)
        reused = _reuse_report(earlier, out_dir, run_dir, job, records.get(job.unit)) if reusable else None
        if reusable and reused is None:
            job.reason = "published files missing or changed"
        (outcomes.append(reused) if reused else to_run.append(job))
    executed = _execute_all(to_run, request.jobs, request.progress, log, pool=pool) if to_run else []
    for job, outcome in zip(to_run, executed, strict=True):
        outcome.inputs, outcome.reason = job.inputs, job.reason
    position = {job.unit: k for k, job in enumerate(work)}
    return sorted(outcomes + executed, key=lambda o: position[o.unit]), "", compared_with


def _record(
    request: Request,
    run_dir: Path,
    outcomes: list[Outcome],
    meta: dict,
    hashes: dict,
    versions: dict,
    tables_dir: Path,
) -> RunResult:
    """The run's index and manifest (the other units' last good reports carried over
    into a run of some units), then ``latest`` switched to it if every report succeeded."""
    plan = request.plan
    if len(request.units) < len(plan.districts) + 1:
        outcomes = _carry_over(request.out_dir, run_dir, outcomes, meta, [plan.province, *plan.districts.unit])
    write_index(run_dir, outcomes, meta, request.lang)
    write_manifest(run_dir, outcomes, meta, hashes, versions, tables_dir)
    result = RunResult(run_dir, outcomes, error=meta["error"])
    if result.ok:
        publish(request.out_dir, run_dir)
        result.published = True
    return result


def _store_digest(data_dir: Path) -> str:
    """What a data folder's store holds, by its journal of accepted files (empty without one)."""
    journal = data_dir / "store" / JOURNAL
    return sha256_file(journal) if journal.is_file() else ""


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, target)


def _files(record: dict) -> list[str]:
    return [record[k] for k in ("html", "pdf", "excel", "notebook") if record.get(k)]


def _reuse_report(earlier: dict, out_dir: Path, run_dir: Path, job: Job, record: dict | None) -> Outcome | None:
    """A report of the published run taken over as it is (its files linked), or None when
    its files are gone or not what the published manifest recorded."""
    source = (out_dir / "latest").resolve()
    if not reuse.intact(source, _files(record), earlier):
        return None
    for name in _files(record):
        _link(source / name, run_dir / name)
    kept = {k: v for k, v in record.items() if k in {f.name for f in fields(Outcome)}}
    made_by = record.get("reused_from") or earlier["run"]
    changes = {
        "execution": "reused",
        "reason": job.reason,
        "inputs": job.inputs,
        "seconds": 0.0,
        "reused_from": made_by,
    }
    return Outcome(**{**kept, **changes})


def _reuse_run(earlier: dict, out_dir: Path, run_dir: Path, work: list[Job]) -> list[Outcome] | None:
    """Every report of the published run, and its tables, when nothing the run reads
    changed; None when one of them is missing (the run then proceeds as usual)."""
    source = (out_dir / "latest").resolve()
    records = {r["unit"]: r for r in earlier["reports"] if r["status"] in PUBLISHED}
    tables = analysis_tables(out_dir, earlier["run"])
    recorded = (earlier.get("tables") or {}).get("files") or {}
    complete = (
        bool(recorded)
        and reuse.intact(tables, list(recorded), {"files": recorded})
        and all(job.unit in records and reuse.intact(source, _files(records[job.unit]), earlier) for job in work)
    )
    if not complete:
        return None
    for name in recorded:
        _link(tables / name, analysis_tables(out_dir, run_dir.name) / name)
    for job in work:
        job.inputs, job.reason = records[job.unit].get("inputs", {}), "unchanged run"
    return [_reuse_report(earlier, out_dir, run_dir, job, records[job.unit]) for job in work]


def _carry_over(out_dir: Path, run_dir: Path, outcomes: list[Outcome], meta: dict, order: list[str]) -> list[Outcome]:
    """The outcomes of this run, with the good reports of the other units taken from the
    published run when it has the same phase and language (linked, not copied)."""
    previous = reuse.published(out_dir)
    if previous is None or any(previous.get(key, "") != meta[key] for key in ("phase", "review", "lang")):
        return outcomes
    done = {o.unit for o in outcomes}
    source = (out_dir / "latest").resolve()
    for report in previous.get("reports", []):
        if report["unit"] in done or report["status"] != "ok" or not reuse.intact(source, _files(report), previous):
            continue
        for name in _files(report):
            if (source / name).is_file():
                os.link(source / name, run_dir / name)
        outcomes.append(Outcome(**{**report, "carried_from": report.get("carried_from") or previous["run"]}))
    position = {unit: k for k, unit in enumerate(order)}
    return sorted(outcomes, key=lambda o: position.get(o.unit, len(order)))


def _execute_all(
    work: list[Job],
    jobs: int,
    progress: bool,
    log: str = "",
    warm: bool = True,
    pool: ProcessPoolExecutor | None = None,
) -> list[Outcome]:
    """Execute the jobs in a pool of processes (``pool``, or a new ``worker.pool`` of
    ``jobs`` workers), each worker on its warm kernel (a new kernel per report without
    ``warm``)."""
    from tqdm import tqdm

    order = {job.unit: k for k, job in enumerate(work)}
    outcomes = []
    bar = tqdm(total=len(work), desc="Báo cáo / Reports", unit="report", disable=not progress, file=sys.stderr)
    with contextlib.nullcontext(pool) if pool else worker.pool(min(jobs, len(work)), log) as workers:
        futures = {}
        for job in work:
            try:
                futures[workers.submit(worker.execute, job, warm)] = job
            except BrokenProcessPool:
                outcomes.append(_worker_lost(job))
        for future in as_completed(futures):
            try:
                outcomes.append(future.result())
            except BrokenProcessPool:
                outcomes.append(_worker_lost(futures[future]))
            bar.update()
    bar.close()
    return sorted(outcomes, key=lambda o: order[o.unit])


def _worker_lost(job: Job) -> Outcome:
    """The outcome of a report whose worker process ended before it: killed, out of
    memory, or re-running a script that starts a run without a main guard."""
    return Outcome(
        job.unit,
        job.name,
        "",
        "",
        "",
        status="failed",
        error="Tiến trình chạy báo cáo đã dừng đột ngột (hết bộ nhớ hoặc bị dừng); một tập lệnh Python gọi "
        'run() cần `if __name__ == "__main__":` / The report\'s worker process ended abruptly (out of memory '
        'or killed); a Python script that calls run() needs `if __name__ == "__main__":`',
    )

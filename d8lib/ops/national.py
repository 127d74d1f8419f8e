"""Every province of Project 8 in one run, on a Dask cluster.

A national data folder holds ``national.yaml`` and one folder per province under
``provinces/<code>/``: its ``plan.yaml``, its unit tables and its data, as ``d8 run``
reads a data folder. ``national_run`` sends each province's folder, as bytes, to two
workers, one taking in its inbox (``take_in``), the other estimating its survey
(``estimate_survey``), then with what they made to a worker that builds its tables
(``build_tables``); each report then runs on a worker from those tables
(``render_report``) and comes back as bytes. Workers need no shared
filesystem; with no scheduler address the run starts a ``LocalCluster`` on this
machine. A failed report or province never stops the others; ``<out>/latest`` moves
only when everything succeeded; a report whose inputs match the published run's is
reused (``d8lib.ops.reuse``). The national index adds the provinces up against their plans.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import logging
import os
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core import labels
from d8lib.core.atomic import write_text
from d8lib.core.digests import code_fingerprint
from d8lib.core.errors import InputError
from d8lib.core.labels import label
from d8lib.core.paths import NOTEBOOKS_DIR, run_cache
from d8lib.core.text import ascii_key
from d8lib.ops import reuse
from d8lib.reports import charts, disclosure, formats
from d8lib.reports.formats import table_html
from d8lib.reports.sections import code_order

FILE = "national.yaml"
UNITS = ("all", "province", "communes-2025")  # the units of each province a run reports on


def provinces_of(data_dir: Path, provinces: str = "all") -> list[str]:
    """The provinces of a national folder (``all``) or those asked (comma-separated codes)."""
    path = data_dir / FILE
    if not path.is_file():
        raise InputError(f"Thư mục {data_dir} không có {FILE}", f"The folder {data_dir} has no {FILE}")
    known = [str(code) for code in yaml.safe_load(path.read_text(encoding="utf-8"))["provinces"]]
    if provinces in ("", "all"):
        return known
    asked = [p.strip() for p in provinces.split(",") if p.strip()]
    unknown = [p for p in asked if p not in known]
    if unknown:
        raise InputError(
            f"--provinces: không có tỉnh {', '.join(unknown)} trong {FILE}",
            f"--provinces: no province {', '.join(unknown)} in {FILE}",
        )
    return asked


NOT_SENT = {"store", "registers"}  # folders of a province that no worker reads


def pack(folder: Path) -> bytes:
    """A folder as the bytes of a gzipped tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.add(path, arcname=str(path.relative_to(folder)))
    return buffer.getvalue()


def pack_for_worker(folder: Path) -> bytes:
    """What a worker reads of a province's folder, as ``pack`` gives it: its plan, units,
    submissions and village register, and its survey files without the columns their
    codebook names as personal; never its store (rebuilt there), its registers of
    people (the survivors' among them) or the demo's true values."""
    survey = folder / "survey" / "codebook.yaml"
    spec = yaml.safe_load(survey.read_text(encoding="utf-8")) if survey.is_file() else {}
    personal = set(spec.get("personal") or [])
    rounds = {name for r in (spec.get("rounds") or {}).values() for name in r.get("files", [])}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            if set(relative.parts) & NOT_SENT or path.name.startswith("truth"):
                continue
            if relative.parent == Path("survey") and path.name in rounds and path.suffix.lower() == ".csv":
                table = pd.read_csv(path, dtype=str, keep_default_na=False)
                data = table.drop(columns=[c for c in table if c in personal]).to_csv(index=False).encode()
                info = tarfile.TarInfo(str(relative))
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            elif relative.parent == Path("survey") and path.name in rounds:
                raise InputError(
                    f"{path}: lần chạy toàn quốc chỉ gửi tệp khảo sát CSV",
                    f"{path}: a national run sends CSV survey files only",
                )
            else:
                archive.add(path, arcname=str(relative))
    return buffer.getvalue()


def unpack(blob: bytes, target: Path) -> Path:
    """Write the files of ``pack``'s bytes under ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        archive.extractall(target, filter="data")
    return target


def reporting_units(plan, units: str) -> pd.DataFrame:
    """The units of a province's plan whose reports a run asks (unit, name, level):
    ``all``, the province and its districts; ``province``; ``communes-2025``, the
    province and its new communes (a plan without them is an ``InputError``)."""
    from d8lib.ops.runner import select_units

    return plan.reporting_units().set_index("unit").loc[select_units(plan, units)].reset_index()


# --- on a worker ---------------------------------------------------------------------------


def take_in(code: str, folder: bytes) -> dict:
    """On a worker: a province's inbox taken into a store (``prepare_store``), as the
    cache folder that holds it (``kept``: its name and bytes); or the error that stopped it."""
    from d8lib.intake.inbox import prepare_store
    from d8lib.plan.model import load_plan

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"d8-{code}-") as temporary:
        data = unpack(folder, Path(temporary) / "data")
        try:
            store = prepare_store(load_plan(data / "plan.yaml"), data, run_cache(Path(temporary) / "cache"))
        except Exception as exc:  # noqa: BLE001 - reported as the province's error by its build
            return _part_failed("intake", exc, start)
        return {"part": "intake", "error": "", "kept": {store.name: pack(store)}, "seconds": _since(start)}


def estimate_survey(code: str, folder: bytes, phase: str) -> dict:
    """On a worker: a province's survey estimates for a phase, kept as a build keeps them
    (``remembered``; ``kept``: the folder's name and bytes), and its rows for pooling
    across provinces; or the error that stopped them."""
    from d8lib.plan.model import load_plan
    from d8lib.reports import evaluate
    from d8lib.reports.remembered import remembered
    from d8lib.survey import outcomes

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"d8-{code}-") as temporary:
        data, cache = unpack(folder, Path(temporary) / "data"), Path(temporary) / "cache"
        try:
            plan, rounds, definitions = (
                load_plan(data / "plan.yaml"),
                evaluate.phase_rounds(phase),
                outcomes.load_definitions(),
            )
            design = evaluate.outcome_design(data, rounds, plan.units(), definitions)
            key = evaluate.survey_key(data, plan, rounds)
            remembered(
                cache,
                key,
                lambda: evaluate.survey_estimates(data, rounds, plan.units(), plan.province, definitions, design),
            )
            kept = {entry.name: pack(entry) for entry in cache.iterdir()}
        except Exception as exc:  # noqa: BLE001 - reported as the province's error by its build
            return _part_failed("survey", exc, start)
        pooling = evaluate.pooling_rows(design[2], code)
        return {"part": "survey", "error": "", "kept": kept, "pooling": pooling, "seconds": _since(start)}


def build_tables(code: str, folder: bytes, phase: str, as_of: str, review: str, units: str, *parts: dict) -> dict:
    """On a worker: a province's tables from its folder (bytes) and the parts made
    before on other workers (``take_in``'s store, ``estimate_survey``'s estimates, which
    the build finds in its cache): the tables (bytes), the digest of what each unit's
    report reads, the units whose reports are asked (``units``: ``all``, the province and
    its districts; ``province``; ``communes-2025``, the province and its new communes),
    its progress and rows for pooling; or the error that stopped it or a part."""
    from d8lib.intake.inbox import prepare_store
    from d8lib.intake.store import Store
    from d8lib.plan.model import load_plan
    from d8lib.reports import evaluate

    start = time.perf_counter()
    failed = [part["error"] for part in parts if part["error"]]
    if failed:
        return {"code": code, "error": failed[0], "seconds": _since(start)}
    with tempfile.TemporaryDirectory(prefix=f"d8-{code}-") as temporary:
        data, cache = unpack(folder, Path(temporary) / "data"), Path(temporary) / "cache"
        for part in parts:
            for name, blob in part["kept"].items():
                unpack(blob, cache / name)
        try:
            plan = load_plan(data / "plan.yaml")
            reporters = reporting_units(plan, units)
            store = Store(prepare_store(plan, data, cache))
            survey = None if review else data
            day = dt.date.fromisoformat(as_of)
            areas = evaluate.commune_areas(data)
            bundle = evaluate.build(plan, survey, store, phase, day, review=review, areas=areas, cache=cache)
            bundle.save(Path(temporary) / "tables")
        except Exception as exc:  # noqa: BLE001 - a province that cannot be built is reported, the others go on
            return {"code": code, "error": f"{type(exc).__name__}: {exc}", "seconds": _since(start)}
        progress = bundle.progress[bundle.progress.unit == plan.province]
        headline = set(plan.targets.indicator[plan.targets.headline & (plan.targets.unit == plan.province)])
        progress = progress.assign(headline=progress.indicator.isin(headline))
        return {
            "code": code,
            "error": "",
            "name": plan.meta["province"]["name"],
            "synthetic": bool(plan.meta.get("synthetic")),
            "tables": pack(Path(temporary) / "tables"),
            "digests": bundle.digests(reporters.unit),
            "units": list(zip(reporters.unit, reporters.name)),
            "progress": progress[["indicator", "achieved", "target", "status", "headline"]].to_dict("records"),
            "pooling": next((part["pooling"] for part in parts if "pooling" in part), None),
            "seconds": _since(start),
            "parts": {part["part"]: part["seconds"] for part in parts},
        }


def _part_failed(part: str, exc: Exception, start: float) -> dict:
    return {"part": part, "error": f"{type(exc).__name__}: {exc}", "seconds": _since(start)}


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def render_report(built: dict, unit: str, slug: str, name: str, notebook: bytes, parameters: dict, lang: str) -> dict:
    """On a worker: one report executed from its province's tables and rendered; its
    outcome and its files (as bytes) come back."""
    from d8lib.ops.worker import Job, execute

    with tempfile.TemporaryDirectory(prefix=f"d8-{slug}-") as temporary:
        folder = Path(temporary)
        tables = unpack(built["tables"], folder / "tables")
        (folder / "notebooks").mkdir()
        source = folder / "report.ipynb"
        source.write_bytes(notebook)
        given = {**parameters, "tables_dir": str(tables), "excel_path": str(folder / f"{slug}.xlsx")}
        saved = os.dup(2)  # the kernel's messages stay out of the worker's log (one task at a time per worker)
        with open(folder / "kernel.log", "w") as log:
            os.dup2(log.fileno(), 2)
            try:
                outcome = execute(Job(unit, name, slug, str(source), given, str(folder), lang))
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        names = [n for n in (outcome.html, outcome.excel, outcome.notebook) if n and (folder / n).is_file()]
        return {"outcome": asdict(outcome), "files": {n: (folder / n).read_bytes() for n in names}}


# --- the run -------------------------------------------------------------------------------


@dataclass
class NationalResult:
    run_dir: Path
    provinces: dict = field(default_factory=dict)  # code -> what its build returned (without its tables)
    reports: list = field(default_factory=list)  # one record per report (a dict, with its province)
    published: bool = False
    outcomes: pd.DataFrame | None = None  # survey outcomes pooled across provinces, per round

    @property
    def ok(self) -> bool:
        built = all(not p.get("error") for p in self.provinces.values())
        return built and bool(self.reports) and all(r["status"] == "ok" for r in self.reports)


def _client(scheduler: str, workers: int | None):
    from distributed import Client, LocalCluster

    if scheduler:
        try:  # a tls:// address takes Dask's security settings (distributed.comm.tls) from its configuration
            return Client(scheduler, timeout="60s")
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"Địa chỉ bộ điều phối không hợp lệ: «{scheduler}»",
                f"Not a scheduler address: '{scheduler}' ({exc}); write it as tls://HOST:PORT",
            ) from None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never the one another cluster holds
        silence_logs=logging.ERROR,  # the operator's log keeps d8's lines
    )
    return Client(cluster)


def _failed(province: str, unit: str, name: str, error: str) -> dict:
    return {"province": province, "unit": unit, "name": name, "html": "", "excel": "", "notebook": "",
            "status": "failed", "error": error, "seconds": 0.0, "execution": "executed"}  # fmt: skip


def _reused(earlier: dict | None, out_dir: Path, run_dir: Path, record: dict) -> dict | None:
    """A report of the published run linked into this one, or None when its files are gone
    or not what the published manifest recorded."""
    source = (out_dir / "latest").resolve()
    names = [f"{record['province']}/{record[k]}" for k in ("html", "excel", "notebook") if record.get(k)]
    if not reuse.intact(source, names, earlier or {}):
        return None
    source = source / record["province"]
    names = [name.split("/", 1)[1] for name in names]
    for name in names:
        (run_dir / record["province"] / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(source / name, run_dir / record["province"] / name)
    return {**record, "execution": "reused", "seconds": 0.0, "reused_from": record.get("reused_from") or earlier["run"]}


def _produce(client, chosen, units, data_dir, out_dir, run_dir, settings, notebook, force, progress) -> tuple:
    """Build every province's tables and run its reports on the cluster, reusing what did
    not change; returns the provinces' builds, the reports' records and the provinces'
    survey rows for pooling."""
    from distributed import as_completed
    from tqdm import tqdm

    from d8lib.ops.runner import analysis_tables

    review, lang = settings["review"], settings["lang"]
    code = code_fingerprint(settings["versions"])
    earlier = reuse.published(out_dir)
    records = {(r["province"], r["unit"]): r for r in (earlier or {}).get("reports", []) if r["status"] == "ok"}
    submitted = {}
    for province in chosen:  # a province's store and survey estimates on any two workers, then its tables
        folder = client.scatter(pack_for_worker(data_dir / "provinces" / province))
        parts = [client.submit(take_in, province, folder, pure=False)]
        if not review:
            parts.append(client.submit(estimate_survey, province, folder, settings["phase"], pure=False))
        args = (province, folder, settings["phase"], settings["as_of"], review, units, *parts)
        submitted[client.submit(build_tables, *args, pure=False)] = ("build", province)
    provinces, reports, pooled = {}, [], []
    bar = tqdm(desc="Báo cáo / Reports", unit="report", disable=not progress, file=sys.stderr)
    pending = as_completed(list(submitted))
    for future in pending:
        kind, *about = submitted.pop(future)
        if kind == "report":
            province, unit, name, inputs, reason = about
            try:
                done = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker lost with the report: that report failed
                reports.append(_failed(province, unit, name, f"{type(exc).__name__}: {exc}"))
            else:
                for relative, content in done["files"].items():
                    (run_dir / province / relative).parent.mkdir(parents=True, exist_ok=True)
                    (run_dir / province / relative).write_bytes(content)
                reports.append({**done["outcome"], "province": province, "inputs": inputs, "reason": reason})
            bar.update()
            continue
        province = about[0]
        try:
            built = future.result()
        except Exception as exc:  # noqa: BLE001 - a worker lost with the build: that province failed
            built = {"code": province, "error": f"{type(exc).__name__}: {exc}"}
        provinces[province] = {k: v for k, v in built.items() if k not in ("tables", "pooling")}
        if built.get("pooling") is not None:
            pooled.append(built["pooling"])
        if built["error"]:
            reports.append(_failed(province, province, province, built["error"]))
            continue
        unpack(built["tables"], analysis_tables(out_dir, run_dir.name) / province)  # for analysts, not shared
        for unit, name in built["units"]:
            inputs = reuse.report_inputs(built["digests"][unit], notebook, code, {**settings, "unit": unit})
            record = records.get((province, unit))
            reusable, reason = reuse.decide(record, inputs, force)
            kept = _reused(earlier, out_dir, run_dir, record) if reusable else None
            if kept:
                reports.append({**kept, "inputs": inputs, "reason": reason})
                bar.update()
                continue
            slug = f"{unit}-{ascii_key(name).replace(' ', '-')}"
            name = labels.unit_name(name, lang)
            parameters = {"unit": unit, "lang": lang}
            if not review:
                parameters |= {"phase": settings["phase"], "as_of": settings["as_of"]}
            job = client.submit(
                render_report, future, unit, slug, name, notebook.read_bytes(), parameters, lang, pure=False
            )
            submitted[job] = ("report", province, unit, name, inputs, reason)
            pending.add(job)
    bar.close()
    order = {p: k for k, p in enumerate(chosen)}
    reports.sort(key=lambda r: (order[r["province"]], r["unit"] != r["province"], r["unit"]))
    return provinces, reports, pooled


def national_run(
    phase: str = "",
    data_dir: Path = Path("national"),
    out_dir: Path = Path("outputs-national"),
    provinces: str = "all",
    units: str = "all",
    scheduler: str = "",
    workers: int | None = None,
    lang: str = "vi",
    force: bool = False,
    progress: bool = True,
    notebooks: Path = NOTEBOOKS_DIR,
) -> NationalResult:
    """The reports of every province asked, on a Dask cluster (see the module notes);
    ``units`` as ``build_tables`` takes them, in every province."""
    from d8lib.ops.runner import _stopped_by_signals, _versions, analysis_tables, new_run_folder, publish, run_lock
    from d8lib.reports import dates, evaluate

    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    chosen = provinces_of(data_dir, provinces)
    as_of = dates.default_as_of(phase)
    if units not in UNITS:
        raise InputError(
            f"--units: không có lựa chọn «{units}»; dùng một trong {', '.join(UNITS)}",
            f"--units: no choice '{units}'; use one of {', '.join(UNITS)}",
        )
    settings = {"phase": phase, "review": "", "as_of": as_of.isoformat(), "lang": lang, "versions": _versions()}
    notebook = Path(notebooks) / "evaluation.ipynb"
    with run_lock(out_dir), _stopped_by_signals():
        started = dt.datetime.now()
        client = _client(scheduler, workers)
        run_dir = new_run_folder(out_dir, f"{started:%Y%m%d-%H%M%S}-national-{phase}-{lang}")
        run_id = run_dir.name
        try:
            built, reports, pooling = _produce(
                client, chosen, units, data_dir, out_dir, run_dir, settings, notebook, force, progress
            )
        finally:
            client.close()
        result = NationalResult(run_dir, built, reports)
        if pooling:
            result.outcomes = evaluate.pooled_outcomes(pooling)
            result.outcomes.to_csv(run_dir / "pooled-outcomes.csv", index=False)
        meta = {
            "run": run_id,
            "phase": phase,
            "as_of": as_of.isoformat(),
            "lang": lang,
            "provinces": chosen,
            "units": units,
            "scheduler": scheduler or "LocalCluster",
            "data_dir": str(data_dir),
            "started": started.isoformat(timespec="seconds"),
        }
        write_national_index(run_dir, result, meta, lang)
        manifest = {
            **meta,
            "finished": dt.datetime.now().isoformat(timespec="seconds"),
            "status": "ok" if result.ok else "failed",
            "versions": settings["versions"],
            "inputs": {p: reuse.folder_digest(data_dir / "provinces" / p) for p in chosen},
            "provinces_built": built,
            "reports": reports,
            "files": reuse.file_digests(run_dir),
            "tables": {"folder": str(analysis_tables(out_dir, run_id)), "shared": False},
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        write_text(run_dir / "manifest.json", text)
        if result.ok:
            publish(out_dir, run_dir)
            result.published = True
    return result


def rollup(provinces: dict) -> pd.DataFrame:
    """Each province's progress against its own plan: per headline target of its plan
    (``headline: true``) with a figure, the percentage of it achieved."""
    rows = []
    for code, built in provinces.items():
        for r in built.get("progress", []):
            if r.get("headline") and r["target"] and pd.notna(r["target"]) and pd.notna(r["achieved"]):
                rows.append({"province": code, "indicator": r["indicator"], "share": 100 * r["achieved"] / r["target"]})
    return pd.DataFrame(rows, columns=["province", "indicator", "share"])


def write_national_index(run_dir: Path, result: NationalResult, meta: dict, lang: str) -> Path:
    """The national front page: the provinces side by side against their plans, then
    every province's reports with their status."""

    def say(key: str, **values) -> str:
        return label(f"national.{key}", lang).format(**values)

    names = {c: labels.unit_name(p.get("name", c), lang) for c, p in result.provinces.items()}
    shares = rollup(result.provinces)
    side_by_side = ""
    if len(shares):
        grid = shares.pivot(index="province", columns="indicator", values="share").round(0)
        headline = sorted(grid.columns, key=code_order)
        grid = grid[headline].reset_index()
        grid.insert(0, label("columns.unit_name", lang), grid.province.map(names))
        grid = grid.drop(columns="province").fillna("")
        chart = grid.set_index(label("columns.unit_name", lang))[headline].replace("", np.nan).astype(float)
        side_by_side = (
            f"<h2>{say('side_by_side')}</h2><p>{say('side_by_side_note')}</p>"
            + table_html(
                grid.map(lambda v: formats.fmt(v, 0, lang) if isinstance(v, float) else v).map(str),
                "toan-quoc",
                numeric=set(headline),
            )
            + formats.figure_html(charts.provinces(chart, lang), say("chart_alt"))
        )
    pooled = ""
    if result.outcomes is not None and len(result.outcomes):
        shown = disclosure.hide_withheld(result.outcomes)
        ci = label("columns.ci", lang)
        table = pd.DataFrame(
            {
                label("columns.indicator", lang): shown.indicator,
                label("columns.name", lang): shown["name_vi" if lang == "vi" else "name_en"],
                label("columns.round", lang): shown["round"].map(lambda r: label(f"round.{r}", lang)),
                label("columns.estimate", lang): [formats.fmt(100 * v, 1, lang) for v in shown.estimate],
                ci + " −": [formats.fmt(100 * v, 1, lang) for v in shown.ci_low],
                ci + " +": [formats.fmt(100 * v, 1, lang) for v in shown.ci_high],
                label("columns.n", lang): [formats.fmt(v, 0, lang) for v in shown.n],
                label("columns.df", lang): [formats.fmt(v, 0, lang) for v in shown.df],
                label("columns.flag", lang): shown.flag.map(lambda f: label(f"flag.{f}", lang)),
            }
        )
        numeric = set(table.columns[3:8])
        pooled = f"<h2>{say('pooled')}</h2><p>{say('pooled_note')}</p>" + table_html(
            table, "ket-qua-toan-quoc", numeric=numeric
        )
    sections = []
    for code in meta["provinces"]:
        built = result.provinces.get(code, {})
        mark = f" ({say('synthetic')})" if built.get("synthetic") else ""
        rows = []
        for r in (r for r in result.reports if r["province"] == code):
            link = (
                f"<a href='{code}/{html.escape(r['html'])}'>{html.escape(r['name'])}</a>"
                if r["status"] == "ok"
                else html.escape(r["name"])
            )
            how = say("reused") if r.get("execution") == "reused" else say("executed")
            status = label("index.done" if r["status"] == "ok" else "index.failed", lang)
            error = html.escape((r.get("error") or "").splitlines()[0] if r.get("error") else "")
            rows.append(
                f"<tr class='{r['status']}'><td>{link}</td><td>{status}</td><td>{how}</td><td>{error}</td></tr>"
            )
        sections.append(f"<h2>{html.escape(names.get(code, code))}{mark}</h2><table>{''.join(rows)}</table>")
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{say("title")}</title>
<style>body{{font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1f2933}}
table{{border-collapse:collapse;width:100%}}th,td{{border-bottom:1px solid #d9e2ec;padding:.3rem .5rem;text-align:left}}
th{{background:#f0f4f8}}tr.failed td{{color:#9b1c1c}}</style></head>
<body><h1>{say("title")}</h1><p>{html.escape(say("facts", phase=label("phase." + meta["phase"], lang), as_of=dt.date.fromisoformat(meta["as_of"]).strftime("%d/%m/%Y"), count=len(meta["provinces"])))}</p>
{side_by_side}{pooled}{"".join(sections)}</body></html>
"""
    path = run_dir / "index.html"
    write_text(path, page)
    return path

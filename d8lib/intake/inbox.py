"""A data folder's inbox (``inbox.csv`` and ``submissions/``) taken into a store, as the
files came; the store a run or a notebook reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from d8lib.core.digests import code_fingerprint, sha256_file
from d8lib.core.errors import InputError
from d8lib.core.paths import DATA_DIR
from d8lib.core.text import printable
from d8lib.intake.store import Store
from d8lib.plan.model import Plan


def read_inbox(data_dir: Path) -> pd.DataFrame:
    """``<data>/inbox.csv`` checked: each entry names a file under ``<data>/submissions``
    that exists, and the date it was sent (YYYY-MM-DD). Columns file, sent_on, path."""
    path = data_dir / "inbox.csv"
    try:
        inbox = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"Không đọc được {path} ({exc})", f"Cannot read {path} ({exc})") from None
    missing = [c for c in ("file", "sent_on") if c not in inbox]
    if missing:
        raise InputError(f"{path} thiếu cột {', '.join(missing)}", f"{path} lacks the columns {', '.join(missing)}")
    folder = (data_dir / "submissions").resolve()
    paths = []
    for line, entry in enumerate(inbox.itertuples(), start=2):
        where_vi, where_en = f"{path}, dòng {line}", f"{path}, line {line}"
        target = (folder / entry.file).resolve()
        if not target.is_relative_to(folder):
            raise InputError(
                f"{where_vi}: tệp «{printable(entry.file)}» nằm ngoài {folder}",
                f"{where_en}: the file '{printable(entry.file)}' lies outside {folder}",
            )
        if not target.is_file():
            raise InputError(
                f"{where_vi}: không có tệp «{printable(entry.file)}» trong {folder}",
                f"{where_en}: no file '{printable(entry.file)}' in {folder}",
            )
        try:
            dt.date.fromisoformat(entry.sent_on)
        except ValueError:
            raise InputError(
                f"{where_vi}: ngày gửi «{printable(entry.sent_on)}» không có dạng YYYY-MM-DD",
                f"{where_en}: the date sent '{printable(entry.sent_on)}' is not YYYY-MM-DD",
            ) from None
        paths.append(target)
    return inbox.assign(path=paths)


def ingest_inbox(plan: Plan, data_dir: Path, store_dir: Path, first: int = 0) -> Store:
    """A store holding the submissions of ``<data>/inbox.csv``, taken in as they came;
    from entry ``first`` on where the store holds the earlier ones already."""
    from d8lib.intake.submissions import intake  # the checks load here: reading the inbox stays light

    store = Store(store_dir)
    units = plan.units()
    for entry in read_inbox(data_dir).iloc[first:].itertuples():
        intake([entry.path], store, plan, units, sent_on=dt.date.fromisoformat(entry.sent_on))
    return store


def prepare_store(plan: Plan, data_dir: Path, cache: Path) -> Path:
    """The store a run reads: ``<data>/store`` where the analyst keeps one; otherwise one
    built from the inbox, cached under the hash of everything it was built from.

    A new cached store starts from the cached store that took in the longest first part
    of the same inbox under the same plan, rules, units and code, and takes in only the
    entries after it (a nightly run after one new file takes in one file)."""
    if (data_dir / "store" / "d8.sqlite").exists():
        return data_dir / "store"
    rules = [plan.path, DATA_DIR / "rules" / "intake.yaml", DATA_DIR / "rules" / "limits.yaml"]
    rules += sorted(plan.units_dir.glob("*.csv"))
    sources = [data_dir / "inbox.csv", *sorted((data_dir / "submissions").rglob("*")), *rules]
    named = {p: p.relative_to(data_dir) if p.is_relative_to(data_dir) else p.name for p in sources if p.is_file()}
    read = "".join(f"{name}:{sha256_file(p)}" for p, name in named.items())
    code = code_fingerprint({})  # d8's code takes files in too
    key = hashlib.sha256((read + code).encode()).hexdigest()[:16]
    target = cache / f"store-{key}"
    if (target / "complete").exists() and Store(target).intact():
        return target
    base = hashlib.sha256("".join(f"{p.name}:{sha256_file(p)}" for p in rules if p.is_file()).encode() + code.encode())
    inbox = read_inbox(data_dir)
    entries = [f"{e.file}|{e.sent_on}|{sha256_file(e.path)}" for e in inbox.itertuples()]
    building = cache / f".store-{key}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    start = _start_from(cache, base.hexdigest(), entries, building)
    ingest_inbox(plan, data_dir, building, first=start)
    building.mkdir(parents=True, exist_ok=True)  # an inbox of rejected files only leaves no store
    (building / TAKEN_IN).write_text(json.dumps({"base": base.hexdigest(), "entries": entries}), encoding="utf-8")
    (building / "complete").write_text(key)
    if (target / "complete").exists() and Store(target).intact():  # another process built it meanwhile
        shutil.rmtree(building)
    else:
        shutil.rmtree(target, ignore_errors=True)
        os.replace(building, target)
    return target


TAKEN_IN = "inbox.json"  # beside a cached store: what it took in (its base and inbox entries)


def _start_from(cache: Path, base: str, entries: list[str], building: Path) -> int:
    """Copy to ``building`` the cached store that took in the longest first part of
    ``entries`` on the same ``base``; the number of entries it holds (0: none fits)."""
    best, taken = None, 0
    for record in cache.glob(f"store-*/{TAKEN_IN}"):
        try:
            known = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a record being written or damaged: that store is not a start
        held = known.get("entries", [])
        if known.get("base") == base and taken < len(held) <= len(entries) and held == entries[: len(held)]:
            if (record.parent / "complete").exists() and Store(record.parent).intact():
                best, taken = record.parent, len(held)
    if best is None:
        return 0
    shutil.copytree(best, building, ignore=shutil.ignore_patterns("complete", TAKEN_IN))
    return taken

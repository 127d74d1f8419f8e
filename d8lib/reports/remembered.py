"""Tables computed once for the same inputs: a step's tables (Parquet) and facts (JSON)
kept in a folder of the run's cache, named by the digest of everything they were
computed from (``key``). The survey's estimates are the costly part of a build and
change only with the survey: another language's run, a rerun after a failed report, or
a nightly run after a new monitoring file reads them instead of computing them.

What a step returns is always what the files hold, whether just written or found, so
that a run computes the same bundle with the cache warm or cold. A folder that cannot
be read is computed again; one that cannot be written leaves the step's own result.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

FACTS = "facts.json"

Computed = tuple[dict[str, pd.DataFrame], dict]


def remembered(cache: Path | None, key: str, compute: Callable[[], Computed]) -> Computed:
    """``compute()``'s tables and facts, from ``<cache>/tables-<key>`` when an earlier
    run kept them there, otherwise computed and kept. Without a cache, computed."""
    if cache is None:
        return compute()
    folder = Path(cache) / f"tables-{key[:24]}"
    found = _read(folder)
    if found is not None:
        return found
    tables, facts = compute()
    try:
        _write(folder, tables, facts)
    except OSError:  # a full disk or a read-only cache: this run goes on with its own result
        return tables, facts
    return _read(folder) or (tables, facts)


def _read(folder: Path) -> Computed | None:
    try:
        facts = json.loads((folder / FACTS).read_text(encoding="utf-8"))
        tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in facts.pop("_tables")}
    except (OSError, ValueError, KeyError, TypeError):  # absent, half-removed or damaged: computed again
        return None
    return tables, facts


def _write(folder: Path, tables: dict[str, pd.DataFrame], facts: dict) -> None:
    partial = folder.with_name(f".{folder.name}-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for name, table in tables.items():
            table.to_parquet(partial / f"{name}.parquet")
        text = json.dumps({**facts, "_tables": list(tables)}, ensure_ascii=False, default=str)
        (partial / FACTS).write_text(text, encoding="utf-8")
        if folder.exists():  # another process kept the same tables meanwhile
            shutil.rmtree(partial)
        else:
            os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise

"""Runs that redo only what changed. A report records the SHA-256 of what it reads: its
part of the run's tables (``Bundle.digest``), its notebook, d8's code and labels with the
versions of the packages that draw it, and its parameters. A report whose record
matches that of the published run is reused (its files linked), not executed again; a
run whose inputs all match the published run's (``run_key``) reuses every report
without building its tables. ``--force`` executes everything. A published file is
reused only while its bytes are those its manifest recorded (``files``); a manifest
that cannot be read is reported and ignored, and everything is executed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from d8lib.core.digests import digest, sha256_file

COMPONENTS = ("tables", "notebook", "code", "parameters")


def run_key(inputs: dict[str, str], code: str, parameters: dict) -> str:
    """One digest of everything a run reads (file hashes), d8's code and the run's parameters."""
    return digest({"inputs": inputs, "code": code, "parameters": parameters})


def report_inputs(tables: str, notebook: Path, code: str, parameters: dict) -> dict[str, str]:
    """The record of what one report reads, component by component (``COMPONENTS``)."""
    return {"tables": tables, "notebook": sha256_file(notebook), "code": code, "parameters": digest(parameters)}


def published(out_dir: Path) -> dict | None:
    """The manifest of the published run (``<out>/latest``), if any; a damaged one is
    reported and taken as none."""
    path = out_dir / "latest" / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        manifest = exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("reports", []), list):
        print(
            f"d8: bản kê {path} bị hỏng, bỏ qua: mọi báo cáo được chạy lại / the manifest {path} is damaged and "
            f"ignored: every report is executed ({type(manifest).__name__})",
            file=sys.stderr,
        )
        return None
    return manifest


def file_digests(run_dir: Path) -> dict[str, str]:
    """The SHA-256 of every file a run publishes (its manifest aside), by relative path."""
    return {
        str(p.relative_to(run_dir)): sha256_file(p)
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def intact(source: Path, names: list[str], earlier: dict) -> bool:
    """Whether published files are there with the bytes their manifest recorded."""
    digests = earlier.get("files") or {}
    return all(
        name in digests and (source / name).is_file() and sha256_file(source / name) == digests[name] for name in names
    )


def decide(earlier: dict | None, inputs: dict[str, str], force: bool) -> tuple[bool, str]:
    """Whether a report can be reused from its record in the published run, and why."""
    if force:
        return False, "forced"
    if earlier is None or earlier.get("status") != "ok":
        return False, "no earlier report"
    changed = [c for c in COMPONENTS if (earlier.get("inputs") or {}).get(c) != inputs.get(c)]
    return (False, "changed: " + ", ".join(changed)) if changed else (True, "unchanged")


def folder_digest(folder: Path) -> str:
    """One digest of every file of a data folder (its store aside), by relative path."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "store" not in p.relative_to(folder).parts)
    return digest({str(p.relative_to(folder)): sha256_file(p) for p in files})

"""Where the project's shipped data live: the plan, rules, labels, standards, unit
tables and notebooks. A source checkout reads the repository's ``data/`` and
``notebooks/``; an installed package carries them inside (``d8lib/data``,
``d8lib/notebooks``, as ``pyproject.toml`` maps them)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _shipped(name: str) -> Path:
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


# The shipped data folder; D8_DATA points elsewhere (another province, a test).
DATA_DIR = Path(os.environ.get("D8_DATA", _shipped("data")))
NOTEBOOKS_DIR = _shipped("notebooks")


def run_cache(default: Path) -> Path:
    """The folder of what runs keep for later runs: stores taken in from inboxes
    (``d8lib.intake.inbox.prepare_store``) and the survey's estimates
    (``d8lib.reports.remembered``). ``D8_CACHE`` where set, so that several output
    folders and analysts share one cache; otherwise ``default`` (a run's ``<out>/cache``)."""
    return Path(os.environ.get("D8_CACHE") or default)


def _config() -> dict:
    return yaml.safe_load((DATA_DIR / "config.yaml").read_text(encoding="utf-8"))


def default_plan_path() -> Path:
    """The plan named in ``data/config.yaml``."""
    return DATA_DIR / _config()["plan"]


def default_standard_path() -> Path:
    """The presentation standard of survey figures named in ``data/config.yaml``."""
    return DATA_DIR / _config()["presentation_standard"]


@lru_cache(maxsize=1)
def evaluation_settings() -> dict:
    """The evaluation's choices (``data/evaluation.yaml``): its phases (the survey
    rounds each compares and the date its figures run to by default) and breakdowns."""
    return yaml.safe_load((DATA_DIR / "evaluation.yaml").read_text(encoding="utf-8"))


def phase_names() -> list[str]:
    """The evaluation's phases, in the order ``data/evaluation.yaml`` lists them."""
    return list(evaluation_settings()["phases"])


def survey_rounds() -> list[str]:
    """Every survey round some phase compares, in the order the phases list them."""
    phases = evaluation_settings()["phases"].values()
    return list(dict.fromkeys(r for phase in phases for r in phase["rounds"]))

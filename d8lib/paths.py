"""Where the project's shipped data live."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

# The repository's data/ folder; D8_DATA points elsewhere (another province, a test).
DATA_DIR = Path(os.environ.get("D8_DATA", Path(__file__).resolve().parents[1] / "data"))
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def _config() -> dict:
    return yaml.safe_load((DATA_DIR / "config.yaml").read_text(encoding="utf-8"))


def default_plan_path() -> Path:
    """The plan named in ``data/config.yaml``."""
    return DATA_DIR / _config()["plan"]


def default_standard_path() -> Path:
    """The presentation standard of survey figures named in ``data/config.yaml``."""
    return DATA_DIR / _config()["presentation_standard"]

"""Shared fixtures and paths of the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"
# The read-only folder beside the project that holds the plan's source text.
PLAN_TEXT = ROOT.parent / "shared" / "sources" / "ke-hoach-355-KH-UBND-lao-cai-2022.txt"


@pytest.fixture(scope="session")
def plan():
    from d8lib.plan import load_plan

    return load_plan()


@pytest.fixture(scope="session")
def plan_text() -> str:
    if not PLAN_TEXT.exists():
        pytest.skip(f"the plan's source text is not beside the project ({PLAN_TEXT})")
    return PLAN_TEXT.read_text(encoding="utf-8")

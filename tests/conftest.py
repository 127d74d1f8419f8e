"""Shared fixtures and paths of the test suite."""

from __future__ import annotations

import pytest
from helpers import PLAN_TEXT


@pytest.fixture(scope="session")
def plan():
    from d8lib.plan.model import load_plan

    return load_plan()


@pytest.fixture(scope="session")
def plan_text() -> str:
    if not PLAN_TEXT.exists():
        pytest.skip(f"the plan's source text is not beside the project ({PLAN_TEXT})")
    return PLAN_TEXT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def demo_store(plan, tmp_path_factory):
    """The demo's inbox taken in once for the whole session (about 30 s): a store that the
    tests read and never write."""
    from helpers import ROOT

    from d8lib.intake.inbox import ingest_inbox

    return ingest_inbox(plan, ROOT / "data" / "demo", tmp_path_factory.mktemp("demo-store"))

"""Shared fixtures and paths of the test suite."""

from __future__ import annotations

import os

import pytest
from helpers import PLAN_TEXT

# The modules that take longest (a minute or more on two workers), started first so that
# no worker is left with one of them while the other has finished.
LONGEST_FIRST = ["test_reports", "test_national", "test_coverage", "test_survey_import", "test_after_reform"]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1]
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(scope="session")
def plan():
    from d8lib.plan.model import load_plan

    return load_plan()


@pytest.fixture(scope="session")
def plan_text() -> str:
    if not PLAN_TEXT.exists():
        pytest.skip(f"the plan's source text is not beside the project ({PLAN_TEXT})")
    return PLAN_TEXT.read_text(encoding="utf-8")


@pytest.fixture(scope="session", autouse=True)
def shared_store_cache(tmp_path_factory):
    """One cache of stores taken in from inboxes (``D8_CACHE``) for every run the tests
    start, in this process or as a command: the demo's inbox is taken in once, not once
    per output folder. Parallel workers share it."""
    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "store-cache"
    before = os.environ.get("D8_CACHE")
    os.environ["D8_CACHE"] = str(cache)
    yield cache
    if before is None:
        del os.environ["D8_CACHE"]
    else:
        os.environ["D8_CACHE"] = before


@pytest.fixture(scope="session")
def demo_store(plan, shared_store_cache):
    """The demo's inbox taken in once for the whole session, the store the runs read:
    the tests read it and never write it."""
    from helpers import ROOT

    from d8lib.intake.inbox import prepare_store
    from d8lib.intake.store import Store

    return Store(prepare_store(plan, ROOT / "data" / "demo", shared_store_cache))

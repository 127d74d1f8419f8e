"""The store: its journal follows its commits, its schema has a version, and a store of
every earlier version opens with its values kept."""

from __future__ import annotations

import json
import sqlite3

import pytest
from helpers import filled_form

from d8lib.intake import store as store_module
from d8lib.intake.store import JOURNAL, SCHEMA_VERSION, Store, StoreError
from d8lib.intake.submissions import intake, rebuild

O1 = {"value": 25, "people": 300, "female": 290, "male": 10, "ethnic_minority": 280}


def _form(plan, tmp_path, name: str, value: int, sent: str):
    return filled_form(plan, "085", "2024", tmp_path / name, {"O1": {**O1, "value": value}}, sent)


def _current(store: Store) -> list:
    values = store.values().query("district == '085' and indicator == 'O1'")
    return values.value.tolist()


def _journal(store: Store) -> list[str]:
    lines = (store.directory / JOURNAL).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["name"] for line in lines]


def test_a_crash_after_the_commit_leaves_the_journal_short_and_the_next_intake_completes_it(
    plan, tmp_path, monkeypatch
):
    store = Store(tmp_path / "store")
    older = _form(plan, tmp_path, "older.xlsx", 25, "01/09/2024")
    newer = _form(plan, tmp_path, "newer.xlsx", 28, "05/09/2024")
    assert intake([older], store, plan, plan.units())[0].status == "accepted"
    real = Store._journal

    def killed(self, connection):
        raise KeyboardInterrupt  # the process ends between the commit and the journal

    monkeypatch.setattr(Store, "_journal", killed)
    with pytest.raises(KeyboardInterrupt):
        intake([newer], store, plan, plan.units())
    assert _current(store) == [28] and _journal(store) == ["older.xlsx"]  # the store holds it; the journal not yet
    monkeypatch.setattr(Store, "_journal", real)
    late = filled_form(plan, "084", "2024", tmp_path / "late.xlsx", {"O1": O1}, "06/09/2024")
    assert intake([late], store, plan, plan.units())[0].status == "accepted"
    assert _journal(store) == ["older.xlsx", "newer.xlsx", "late.xlsx"]  # in the order the store took them
    rebuild(store.directory, plan, plan.units())
    assert _current(Store(store.directory)) == [28]  # the rebuilt store is the store that was


def test_a_crash_before_the_commit_leaves_neither_store_nor_journal_changed(plan, tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    assert intake([_form(plan, tmp_path, "older.xlsx", 25, "01/09/2024")], store, plan, plan.units())
    real = store_module._archive

    def archive_then_die(source, target):
        real(source, target)
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "_archive", archive_then_die)
    with pytest.raises(KeyboardInterrupt):
        intake([_form(plan, tmp_path, "newer.xlsx", 28, "05/09/2024")], store, plan, plan.units())
    assert _current(store) == [25] and _journal(store) == ["older.xlsx"]  # a raw copy left is named by neither
    monkeypatch.setattr(store_module, "_archive", real)
    rebuild(store.directory, plan, plan.units())
    assert _current(Store(store.directory)) == [25]


def _version(store: Store) -> int:
    with sqlite3.connect(store.path) as connection:
        return connection.execute("PRAGMA user_version").fetchone()[0]


# Each earlier version as d8 wrote it: (what is done to a store of today's schema, the version)
EARLIER = {
    "1: before milestones, no version kept": (
        ["ALTER TABLE submitted_values DROP COLUMN done_on", "PRAGMA user_version = 0"],
        1,
    ),
    "2: with milestones, no version kept": (["PRAGMA user_version = 0"], 2),
}


@pytest.mark.parametrize("earlier", EARLIER)
def test_a_store_of_each_earlier_version_opens_with_its_values_and_is_brought_up_to_date(plan, tmp_path, earlier):
    store = Store(tmp_path / "store")
    assert intake([_form(plan, tmp_path, "f.xlsx", 25, "01/09/2024")], store, plan, plan.units())
    assert _version(store) == SCHEMA_VERSION
    statements, version = EARLIER[earlier]
    with sqlite3.connect(store.path) as connection:
        for statement in statements:
            connection.execute(statement)
    assert version < SCHEMA_VERSION or earlier.startswith(str(SCHEMA_VERSION))
    assert _current(store) == [25]
    assert _version(store) == SCHEMA_VERSION
    with sqlite3.connect(store.path) as connection:
        assert "done_on" in {r[1] for r in connection.execute("PRAGMA table_info(submitted_values)")}
    assert intake([_form(plan, tmp_path, "g.xlsx", 28, "05/09/2024")], store, plan, plan.units())
    assert _current(store) == [28]


def test_every_version_has_its_step_and_a_store_of_a_newer_d8_is_refused_by_name(plan, tmp_path):
    assert sorted(store_module.MIGRATIONS) == list(range(2, SCHEMA_VERSION + 1))
    store = Store(tmp_path / "store")
    assert intake([_form(plan, tmp_path, "f.xlsx", 25, "01/09/2024")], store, plan, plan.units())
    with sqlite3.connect(store.path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError) as error:
        store.values()
    assert "newer d8" in str(error.value) and "mới hơn" in str(error.value)

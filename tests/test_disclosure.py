"""Disclosure control that survives arithmetic: in the demo's endline run, in both
languages, no published total minus its published parts (within a report, or the
province's report against the districts') leaves 1 to 4 people."""

from __future__ import annotations

from collections import defaultdict

import pytest
from openpyxl import load_workbook

from d8lib.core import labels
from d8lib.ops import runner
from d8lib.reports import disclosure, formats

SMALL = range(1, disclosure.MIN_COUNT)


def _number(value):
    return None if value in (None, formats.WITHHELD, "") else float(value)


def _sheet(path, name: str) -> list[dict]:
    book = load_workbook(path, read_only=True)
    if name not in book.sheetnames:
        return []
    rows = list(book[name].iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:] if r and r[0] is not None and len(r) == len(header)]


def differences(run_dir, province: str, lang: str) -> list[tuple]:
    """Every total minus its published parts, as a reader of the run's Excel twins can
    work it out: (what, total - parts) for each line whose total is published."""
    label = {
        key: labels.label(f"columns.{key}", lang)
        for key in ("indicator", "people", "female", "male", "ethnic_minority", "round", "n", "dimension", "group")
    }
    import json

    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    twins = {r["unit"]: run_dir / r["excel"] for r in manifest["reports"]}
    totals, parts = {}, defaultdict(list)

    def add(key, value, is_total: bool) -> None:
        if is_total:
            totals[key] = value
        else:
            parts[key].append(value)

    for unit, twin in twins.items():
        in_province = unit == province
        for row in _sheet(twin, "so-nguoi"):
            values = {k: _number(row[label[k]]) for k in ("people", "female", "male", "ethnic_minority")}
            code = row[label["indicator"]]
            add((unit, code, "sexes"), values["people"], True)
            add((unit, code, "sexes"), values["female"], False)
            add((unit, code, "sexes"), values["male"], False)
            add((unit, code, "ethnic"), values["people"], True)
            add((unit, code, "ethnic"), values["ethnic_minority"], False)
            for measure, value in values.items():
                add(("across", code, measure), value, in_province)
        latest = {}
        for row in _sheet(twin, "ket-qua"):
            code, n = row[label["indicator"]], _number(row[label["n"]])
            add(("across-n", code, row[label["round"]]), n, in_province)
            latest[code] = n  # rounds come in order: the last is the latest, which the breakdowns show
        for row in _sheet(twin, "phan-to"):
            code, dimension, n = row[label["indicator"]], row[label["dimension"]], _number(row[label["n"]])
            add((unit, code, dimension), latest.get(code), True)
            add((unit, code, dimension), n, False)
            add(("across-group", code, dimension, row[label["group"]]), n, in_province)
    return [
        (key, total - sum(p for p in parts[key] if p is not None)) for key, total in totals.items() if total is not None
    ]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_total_minus_published_parts_leaves_one_to_four_people(lang, tmp_path, plan):
    result = runner.run("endline", jobs=2, lang=lang, out_dir=tmp_path / "outputs", progress=False)
    assert result.ok, [o.error for o in result.outcomes if o.error]
    found = differences(result.run_dir, plan.province, lang)
    assert len(found) > 500  # the lines the check covers: persons, outcomes and groups, within and across
    small = [(key, d) for key, d in found if round(d) in SMALL]
    assert small == []

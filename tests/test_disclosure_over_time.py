"""Disclosure control that holds across runs: a reader who keeps yesterday's reports and
knows which figures did not change cannot work out a count of 1 to 4 persons from today's.

The reader is modelled independently of ``disclosure.protect``: every line a reader can add
up (persons by sex and by ethnic minority, the province over its units, a unit over its
areas, a figure shown twice), in both runs, with the counts that did not change equal
in both, as one linear system; a withheld count is given away when it is fixed by that
system (its row of the system's null space is zero).
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT
from scipy.linalg import null_space

from d8lib.reports import dates, disclosure, evaluate

DEMO = ROOT / "data" / "demo"
REVIEW = "2025"
SMALL = range(1, disclosure.MIN_COUNT)


class Resubmitted:
    """The store as it is after a unit sends its last file again with other counts."""

    def __init__(self, store, district: str, indicator: str, added: int):
        self.store, self.district, self.indicator, self.added = store, district, indicator, added

    def values(self) -> pd.DataFrame:
        values = self.store.values().copy()
        rows = values[(values.district == self.district) & (values.indicator == self.indicator)]
        last = rows.index[rows.period == rows.period.max()]
        assert len(last), (self.district, self.indicator)
        values.loc[last, "value"] += self.added
        for column in ("people", "female"):
            values.loc[last, column] = values.loc[last, column].fillna(0) + self.added
        return values

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture(scope="module")
def demo(plan, demo_store):
    store = demo_store
    areas = evaluate.commune_areas(DEMO)
    as_of = dates.review_date(plan, REVIEW)

    def build(store, earlier=None):
        phase = dates.phase_at(as_of)
        return evaluate.build(plan, None, store, phase, as_of, review=REVIEW, areas=areas, earlier=earlier)

    return store, build, build(store)


def _cells(record: pd.DataFrame) -> tuple[dict, set]:
    keys = [tuple(json.loads(k)) for k in record.key]
    counts = dict(zip(keys, record["count"]))
    derived = {k for k in keys if k[0] == "rest" or k[2] == "others"}
    published = {k for k, w in zip(keys, record.withheld) if not w and k not in derived}
    return counts, published


def _indicator(key: tuple) -> str:
    return key[2] if key[0] == "rest" else key[1]


def _lines(counts: dict, province: str) -> list[tuple]:
    """What a reader adds up, over the cells of one run (a rest: persons in no part)."""
    lines = []
    for unit, indicator, *measure in [k for k in counts if k[0] != "rest"]:
        if measure == ["people"]:
            key = (unit, indicator)
            if (*key, "female") in counts and (*key, "male") in counts:
                lines.append(((*key, "people"), [(*key, "female"), (*key, "male")]))
            if (*key, "others") in counts:
                lines.append(((*key, "people"), [(*key, "ethnic_minority"), (*key, "others")]))
        if measure == ["achieved"]:
            key = (unit, indicator)
            if counts.get((*key, "people")) == counts[(*key, "achieved")]:
                lines.append(((*key, "achieved"), [(*key, "people")]))
            areas = [k for k in counts if k[:3] == (*key, "area")]
            if areas:
                lines.append(((*key, "achieved"), [*areas, ("rest", *key, "area")]))
    units = sorted({k[0] for k in counts if k[0] != province and k[2] == "people"})
    for key in [k for k in counts if k[0] == province]:
        lines.append((key, [(u, *key[1:]) for u in units] + [("rest", *key)]))
    return lines


def recovered(before: pd.DataFrame, after: pd.DataFrame, province: str) -> list[tuple]:
    """The withheld counts of 1 to 4 that the two runs' published figures fix."""
    counts = {"then": _cells(before), "now": _cells(after)}
    equations = defaultdict(list)  # per indicator: {variable: coefficient}; what is known drops out
    for run, (values, _) in counts.items():
        for total, parts in _lines(values, province):
            terms = {(run, total): 1.0}
            for part in parts:
                terms[(run, part)] = terms.get((run, part), 0.0) - 1.0
            equations[_indicator(total)].append(terms)
    then, now = counts["then"][0], counts["now"][0]
    for key in now.keys() & then.keys():
        if now[key] == then[key]:
            equations[_indicator(key)].append({("now", key): 1.0, ("then", key): -1.0})
    known = {(run, k) for run, (_, published) in counts.items() for k in published}
    known |= {("then", k) for k in now.keys() - then.keys()}  # a count not there before was none
    found = []
    for system in equations.values():
        variables = sorted({v for terms in system for v in terms if v not in known}, key=str)
        if not variables:
            continue
        position = {v: j for j, v in enumerate(variables)}
        matrix = np.zeros((len(system), len(variables)))
        for i, terms in enumerate(system):
            for variable, coefficient in terms.items():
                if variable in position:
                    matrix[i, position[variable]] += coefficient
        free = null_space(matrix)
        for variable, j in position.items():
            run, key = variable
            value = counts[run][0].get(key)
            fixed = not free.shape[1] or np.abs(free[j]).max() < 1e-9
            if key[0] != "rest" and key[2] != "others" and value in SMALL and fixed:
                found.append((run, key, value))
    return found


# The case (a district's survivors from 0 to 3) in every district, and single
# re-submissions of the other counts of persons.
REPLAYS = [(d, "P3", 3) for d in ("080", "082", "083", "084", "085", "086", "087", "088", "089")] + [
    ("086", "O10", 2),
    ("02848", "O10", 3),
    ("02809", "P3", 3),
    ("082", "P4", 2),
    ("088", "P1", 1),
    ("083", "M11-2025", 3),
]


@pytest.mark.parametrize(("district", "indicator", "added"), REPLAYS)
def test_a_resubmission_gives_away_no_small_count_against_the_last_published_run(
    plan, demo, district, indicator, added
):
    store, build, first = demo
    second = build(Resubmitted(store, district, indicator, added), disclosure.Earlier.from_record(first.disclosure))
    assert recovered(first.disclosure, second.disclosure, plan.province) == []


def test_the_reader_finds_the_small_count_when_the_earlier_run_is_not_taken_into_account(plan, demo):
    """The check has teeth: protected within each run only, some replays give a count away."""
    store, build, first = demo
    leaks = [
        recovered(first.disclosure, build(Resubmitted(store, d, i, a)).disclosure, plan.province) for d, i, a in REPLAYS
    ]
    assert any(leaks)


def test_a_count_withheld_yesterday_stays_withheld_while_it_is_the_same(plan):
    # Yesterday: A had 3 (withheld) and B 10 (its complement); the province 100 (C 87).
    # Today only C changed: showing B's 10 now would give A's 3 back from yesterday's total.
    def people(c):
        return pd.DataFrame({"unit": ["A", "B", "C", "P"], "indicator": "P3", "people": [3, 10, c, 13 + c]}).assign(
            female=np.nan, male=np.nan, ethnic_minority=np.nan
        )

    first = disclosure.protect_people(people(87), "P")
    assert first.people.set_index("unit").people.isna().to_dict() == {"A": True, "B": True, "C": False, "P": False}
    second = disclosure.protect_people(people(90), "P", earlier=disclosure.Earlier.from_record(first.cells))
    shown = second.people.set_index("unit").people
    assert shown.isna().to_dict() == {"A": True, "B": True, "C": False, "P": False}
    assert recovered(first.cells, second.cells, "P") == []


def test_a_count_published_yesterday_and_unchanged_is_no_complement(plan):
    # Yesterday every count was shown (A 0, B 10, C 87, P 97). Today A has 3: withholding
    # B's or C's unchanged count hides nothing, so the province's total is withheld with A's.
    def people(a):
        return pd.DataFrame({"unit": ["A", "B", "C", "P"], "indicator": "P3", "people": [a, 10, 87, 97 + a]}).assign(
            female=np.nan, male=np.nan, ethnic_minority=np.nan
        )

    first = disclosure.protect_people(people(0), "P")
    assert first.people.people.notna().all()
    alone = disclosure.protect_people(people(3), "P")  # within the run only: B is withheld with A
    assert alone.people.set_index("unit").people.isna().to_dict() == {"A": True, "B": True, "C": False, "P": False}
    assert recovered(first.cells, alone.cells, "P") == [("now", ("A", "P3", "people"), 3.0)]
    second = disclosure.protect_people(people(3), "P", earlier=disclosure.Earlier.from_record(first.cells))
    assert second.people.set_index("unit").people.isna().to_dict() == {"A": True, "B": False, "C": False, "P": True}
    assert recovered(first.cells, second.cells, "P") == []


def test_respondent_counts_are_protected_against_the_earlier_publication_too():
    # A re-import of a round moves one respondent into A's group "Hà Nhì" (0 to 3) while
    # the province's count of the group goes from 40 to 43: its total is withheld with it.
    def tables(a):
        outcomes = pd.DataFrame({"unit": ["A", "B", "P"], "round": "endline", "indicator": "H5", "n": [228, 100, 328]})
        breakdowns = pd.DataFrame(
            {
                "unit": ["A", "A", "B", "B", "P", "P"],
                "round": "endline",
                "indicator": "H5",
                "dimension": "ethnicity",
                "group": ["Kinh", "Hà Nhì"] * 3,
                "n": [228 - a, a, 60, 40, 288 - a, 40 + a],
            }
        )
        return outcomes, breakdowns

    _, first, record = disclosure.protect_respondents(*tables(0), province="P")
    assert not first.n_withheld.any()
    _, second, _ = disclosure.protect_respondents(
        *tables(3), province="P", earlier=disclosure.Earlier.from_record(record)
    )
    withheld = dict(zip(zip(second.unit, second.group), second.n_withheld))
    # B's 40 is unchanged and was shown: withholding it hides nothing, so the province's is
    assert withheld[("A", "Hà Nhì")] and withheld[("P", "Hà Nhì")] and not withheld[("B", "Hà Nhì")]

"""Disclosure control: what of a report's figures may leave the building.

Disclosure rule (stated in every report's methods annex): a count of people below
``MIN_COUNT`` (5) is withheld, and so are complementary cells wherever a withheld value
could otherwise be recovered, or narrowed below 5, by subtracting published parts from
a published total, within a report and across the province's and the districts'
reports of a run, and against the last published run of the same phase or review
(``Earlier``); the figures of indicators that count persons go with the persons; a
survey group of fewer than 5 respondents is not named; a survey percentage that the
presentation standard (``d8lib.survey.standards``) withholds is not shown. Analysts
working in JupyterLab see full values; only these functions' outputs are published.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field

import pandas as pd

from d8lib.core.labels import label
from d8lib.plan.model import PEOPLE
from d8lib.survey.standards import SHOWN as SHOWN_FLAGS

MIN_COUNT = 5


def suppression_note(lang: str = "vi") -> str:
    """What "x" and "–" mean, with the minimum count this module applies."""
    return label("notes.suppression", lang).format(min_count=MIN_COUNT)


@dataclass(frozen=True)
class Earlier:
    """What the last published run of the same phase or review showed of the same cells:
    every cell's count, derived ones included (``cells``), and the keys it withheld."""

    counts: dict = field(default_factory=dict)
    withheld: frozenset = frozenset()

    @classmethod
    def from_record(cls, record: pd.DataFrame | None) -> Earlier:
        """From the ``cells`` table of an earlier ``Protected`` (``key, count, withheld``)."""
        if record is None or record.empty:
            return cls()
        keys = [_key(k) for k in record.key]
        return cls(
            dict(zip(keys, record["count"].astype(float))), frozenset(k for k, w in zip(keys, record.withheld) if w)
        )


def _key(text: str) -> tuple:
    return tuple(_key(v) if isinstance(v, list) else v for v in json.loads(text))


def protect(
    cells: dict,
    constraints: list[tuple],
    derived: dict | None = None,
    threshold: int = MIN_COUNT,
    earlier: Earlier | None = None,
) -> set:
    """The keys of the cells to withhold so that no withheld count can be worked out and
    no count of 1 to ``threshold`` - 1 can be worked out or narrowed down, in this run or
    by comparing it with an ``earlier`` publication of the same cells.

    ``cells`` maps keys to counts; each constraint ``(total, parts)`` says that the
    total is the sum of the parts, as a reader can add them up. A ``derived`` cell is
    never published but can be worked out from the cells it maps to (persons who are
    not ethnic minority from persons and ethnic-minority persons) unless one of them is
    withheld; it is protected like the others. Rules, applied until none applies: a
    small cell is withheld; a small derived cell that can be worked out has one of its
    sources withheld; a line with a known total whose unknown parts are a single
    positive cell, or add up to less than ``threshold``, has one more part withheld
    (the smallest published positive part, else a source of a derived part, else the
    total); a withheld total whose parts are all known has its smallest part withheld.

    Against an earlier publication the reader is taken to know which counts did not
    change: a cell withheld then stays withheld while its count is the same (showing it
    would give the earlier one away); a cell published then with the same count hides
    nothing when withheld, so it is never chosen as a complement; and a line whose total
    was published both times gives away, by its change, the sum of the changed cells
    withheld now when none of them was withheld then (a district going from 0 to 3
    survivors while the province's total goes from 159 to 162), or the sum of the changed
    cells withheld then when none is withheld now (a commune going from 2 to 5): the rule
    of a line protects that sum like any other, with one more changed cell withheld now.
    """
    derived = derived or {}
    earlier = earlier or Earlier()
    compared = bool(earlier.counts)

    def unchanged(key) -> bool:
        return compared and earlier.counts.get(key, 0.0) == cells[key]

    def withheld_then(key) -> bool:
        if key in derived:
            return any(withheld_then(k) for k in derived[key])
        return key in earlier.withheld

    hidden = {k for k, v in cells.items() if 0 < v < threshold}
    hidden |= {k for k in earlier.withheld if k in cells and k not in derived and unchanged(k)}

    def unknown(key) -> bool:
        if key in derived:
            return any(unknown(k) for k in derived[key])
        return key in hidden

    def withholdable(keys):
        keys = [
            k
            for k in keys
            if k not in derived
            and k not in hidden
            and cells.get(k, 0) > 0
            and not (unchanged(k) and k in earlier.counts)
        ]
        return min(keys, key=lambda k: (cells[k], str(k))) if keys else None

    def behind(keys):
        for key in sorted((k for k in keys if k in derived and cells[k] > 0), key=lambda k: (cells[k], str(k))):
            if (choice := withholdable(derived[key])) is not None:
                return choice
        return None

    def revealing(missing: list, counts: dict = cells) -> bool:
        positive = [p for p in missing if counts.get(p, 0.0) > 0]
        return len(positive) == 1 or 0 < sum(counts.get(p, 0.0) for p in missing) < threshold

    def complement(total, parts):
        return withholdable(parts) or behind(parts) or withholdable([total]) or behind([total])

    def line(total, parts):
        """The rule of a line, at once or (a withheld total) on its parts."""
        if unknown(total):
            if total in hidden and not any(unknown(p) for p in parts):
                return withholdable(parts) or behind(parts)
            return None
        return complement(total, parts) if revealing([p for p in parts if unknown(p)]) else None

    def change(total, parts):
        """The rule of a line whose total was published both times, on its changed cells."""
        if unknown(total) or total not in earlier.counts or withheld_then(total):
            return None
        changed = [p for p in parts if not unchanged(p)]
        now = [p for p in changed if unknown(p)]
        then = [p for p in changed if withheld_then(p)]
        if (revealing(now) and not then) or (revealing(then, earlier.counts) and not now):
            return complement(total, parts)
        return None

    # A line's rule reads only whether its cells (and the sources of its derived cells)
    # are withheld: a line is looked at again only when one of them has been withheld
    # since. Each rule keeps the lines still to look at in order, so that every step
    # takes the first line that needs a cell, as a scan of all lines in order would.
    reading: dict = {}
    for number, (total, parts) in enumerate(constraints):
        for key in _with_sources([total, *parts], derived):
            reading.setdefault(key, []).append(number)
    rules = [(line, list(range(len(constraints))))]
    if compared:
        rules.append((change, list(range(len(constraints)))))
    pending = [set(lines) for _, lines in rules]

    def first(rule: int):
        check, lines = rules[rule]
        while lines:
            choice = check(*constraints[lines[0]])
            if choice is not None:
                return choice
            pending[rule].discard(heapq.heappop(lines))
        return None

    def needed() -> object:
        for key in hidden & derived.keys():
            if not unknown(key) and (choice := withholdable(derived[key]) or behind(derived[key])) is not None:
                return choice
        for rule in range(len(rules)):
            if (choice := first(rule)) is not None:
                return choice
        return None

    while (choice := needed()) is not None:
        hidden.add(choice)
        for number in reading.get(choice, ()):
            for rule, (_, lines) in enumerate(rules):
                if number not in pending[rule]:
                    pending[rule].add(number)
                    heapq.heappush(lines, number)
    return hidden


@dataclass
class Protected:
    """Counts of persons as every report of a run publishes them (withheld cells NaN),
    and the record of every cell that the next run's protection compares with."""

    people: pd.DataFrame
    achieved: pd.DataFrame  # unit, indicator, achieved: indicators counted in persons
    by_area: pd.DataFrame  # unit, area, indicator, achieved: the same by area
    cells: pd.DataFrame  # key (JSON), count, withheld


def protect_people(
    people: pd.DataFrame,
    province: str,
    threshold: int = MIN_COUNT,
    earlier: Earlier | None = None,
    achieved: pd.DataFrame | None = None,
    by_area: pd.DataFrame | None = None,
) -> Protected:
    """Persons reached (``unit, indicator, people, female, male, ethnic_minority``) as
    published by every report of a run: the province's row is the sum of the districts'
    rows, each row's people are female + male, and ethnic-minority persons plus the
    others (published by subtraction). ``achieved`` (``unit, indicator, achieved``) are
    the figures of indicators that count persons, the same number as the persons
    reached where they are equal, and ``by_area`` the same by area, each unit's the sum
    of its areas'. Protected together, and against an ``earlier`` publication."""
    achieved = achieved if achieved is not None else pd.DataFrame(columns=["unit", "indicator", "achieved"])
    by_area = by_area if by_area is not None else pd.DataFrame(columns=["unit", "area", "indicator", "achieved"])
    cells, constraints, derived = {}, [], {}
    for r in people.itertuples():
        row = {m: float(getattr(r, m)) for m in PEOPLE if pd.notna(getattr(r, m))}
        cells.update({(r.unit, r.indicator, m): v for m, v in row.items()})
        if {"people", "female", "male"} <= set(row):
            constraints.append(
                ((r.unit, r.indicator, "people"), [(r.unit, r.indicator, "female"), (r.unit, r.indicator, "male")])
            )
        if {"people", "ethnic_minority"} <= set(row):
            cells[(r.unit, r.indicator, "others")] = row["people"] - row["ethnic_minority"]
            derived[(r.unit, r.indicator, "others")] = [
                (r.unit, r.indicator, "people"),
                (r.unit, r.indicator, "ethnic_minority"),
            ]
            constraints.append(
                (
                    (r.unit, r.indicator, "people"),
                    [(r.unit, r.indicator, "ethnic_minority"), (r.unit, r.indicator, "others")],
                )
            )
    for r in achieved.dropna(subset=["achieved"]).itertuples():
        key, same = (r.unit, r.indicator, "achieved"), (r.unit, r.indicator, "people")
        cells[key] = float(r.achieved)
        if cells.get(same) == cells[key]:  # one number shown twice: either gives the other
            constraints += [(key, [same]), (same, [key])]
    areas = by_area.dropna(subset=["achieved"])
    for r in areas.itertuples():
        cells[(r.unit, r.indicator, "area", r.area)] = float(r.achieved)
    for (unit, indicator), group in areas.groupby(["unit", "indicator"]):
        parts = [(unit, indicator, "area", a) for a in group.area]
        _add_line(cells, constraints, derived, (unit, indicator, "achieved"), parts, ("rest", unit, indicator, "area"))
    # The province's cells add up over the units with a row of persons: its districts, and
    # the new communes that count in its total only (those formed within one district
    # count in that district's figures).
    districts = [u for u in people.unit.unique() if u != province]
    measures = {k[2:] for k in cells if k[0] == province}
    for indicator in sorted({k[1] for k in cells if k[0] == province}):
        for measure in sorted(measures):
            _across(
                cells,
                constraints,
                derived,
                (province, indicator, *measure),
                [(u, indicator, *measure) for u in districts],
            )
    hidden = protect(cells, constraints, derived, threshold, earlier)

    def shown(frame: pd.DataFrame, columns: list[str], key) -> pd.DataFrame:
        frame = frame.copy()
        for column in columns:
            keys = [key(r, column) for r in frame.itertuples()]
            frame[column] = frame[column].astype(float).where([k not in hidden for k in keys])
        return frame

    return Protected(
        people=shown(people, PEOPLE, lambda r, c: (r.unit, r.indicator, c)),
        achieved=shown(achieved, ["achieved"], lambda r, c: (r.unit, r.indicator, "achieved")),
        by_area=shown(by_area, ["achieved"], lambda r, c: (r.unit, r.indicator, "area", r.area)),
        cells=_record(cells, hidden),
    )


def protect_respondents(
    outcomes: pd.DataFrame,
    breakdowns: pd.DataFrame,
    province: str,
    threshold: int = MIN_COUNT,
    earlier: Earlier | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Respondent counts as published by every report of a run: each unit's count of an
    outcome is the sum over the groups of each breakdown (and those with no group), the
    province's the sum of the districts', protected also against an ``earlier``
    publication. Adds ``n_withheld`` to both tables and ``small_group`` (fewer than
    ``threshold`` respondents: the group is not named) to the breakdowns; the third
    table is the record of the cells (``Protected.cells``)."""
    cells = {("total", r.unit, str(r.round), r.indicator): float(r.n) for r in outcomes.itertuples()}
    lines: dict[tuple, list] = {}
    for r in breakdowns.itertuples():
        key = ("group", r.unit, str(r.round), r.indicator, r.dimension, r.group)
        cells[key] = float(r.n)
        lines.setdefault(("total", r.unit, str(r.round), r.indicator, r.dimension), []).append(key)
    constraints, derived = [], {}
    for (_, unit, round_, indicator, dimension), parts in lines.items():
        _add_line(
            cells,
            constraints,
            derived,
            ("total", unit, round_, indicator),
            parts,
            ("rest", unit, round_, indicator, dimension),
        )
    districts = [u for u in outcomes.unit.unique() if u != province]
    for key in [k for k in cells if k[0] in ("total", "group") and k[1] == province]:
        _across(cells, constraints, derived, key, [(key[0], u, *key[2:]) for u in districts])
    hidden = protect(cells, constraints, derived, threshold, earlier)
    outcomes = outcomes.assign(
        n_withheld=[("total", r.unit, str(r.round), r.indicator) in hidden for r in outcomes.itertuples()]
    )
    breakdowns = breakdowns.assign(
        n_withheld=[
            ("group", r.unit, str(r.round), r.indicator, r.dimension, r.group) in hidden
            for r in breakdowns.itertuples()
        ],
        small_group=breakdowns.n.astype(float).between(1, threshold - 1),
    )
    return outcomes, breakdowns, _record(cells, hidden)


def _record(cells: dict, hidden: set) -> pd.DataFrame:
    """Every protected cell, its count and whether it was withheld, for the next run."""
    return pd.DataFrame(
        {
            "key": [json.dumps(k, ensure_ascii=False) for k in cells],
            "count": [float(v) for v in cells.values()],
            "withheld": [k in hidden for k in cells],
        }
    )


def _with_sources(keys: list, derived: dict) -> set:
    """The keys and, for each derived one, the cells it is worked out from, recursively."""
    found, stack = set(), list(keys)
    while stack:
        if (key := stack.pop()) not in found:
            found.add(key)
            stack.extend(derived.get(key, ()))
    return found


def _across(cells: dict, constraints: list, derived: dict, total, parts: list) -> None:
    """A province cell as the sum of the districts' (and of those in no district)."""
    _add_line(cells, constraints, derived, total, [p for p in parts if p in cells], ("rest", *total))


def _add_line(cells: dict, constraints: list, derived: dict, total, parts: list, rest) -> None:
    """The line total = parts + rest, where rest (those in no part) is worked out from
    the others."""
    if total in cells and parts:
        cells[rest] = cells[total] - sum(cells[p] for p in parts)
        derived[rest] = [total, *parts]
        constraints.append((total, [*parts, rest]))


def hide_withheld(
    table: pd.DataFrame, n: str = "n", columns: tuple = ("estimate", "ci_low", "ci_high")
) -> pd.DataFrame:
    """Blank the figures of rows that the presentation standard withholds (``flag``
    "suppress" or "unavailable"), withhold the respondent counts that
    ``protect_respondents`` marks (else those below ``MIN_COUNT``), and leave out the
    rows of groups too small to be named."""
    shown = table.copy()
    if "small_group" in shown:
        shown = shown[~shown.small_group]
    withheld = ~shown.flag.isin(SHOWN_FLAGS)
    for column in columns:
        if column in shown:
            shown[column] = shown[column].astype(float).where(~withheld)
    if n in shown:
        small = shown.n_withheld if "n_withheld" in shown else shown[n] < MIN_COUNT
        shown[n] = shown[n].astype(float).where(~small.astype(bool))
    return shown

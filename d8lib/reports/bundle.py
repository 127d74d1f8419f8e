"""The tables of one run's reports, computed once and handed to each report as files.

A ``Bundle`` is written as a folder: one Parquet file per table (an analyst reads any
with ``pd.read_parquet``) and ``facts.json`` for the run's facts (phase, date, rounds,
design). A run writes it before its reports start; a report reads it whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Table:
    """One table of a phase's reports, as the registry declares it."""

    name: str
    step: str  # the step of ``evaluate.build`` that makes it (``evaluate.STEPS``)
    own: str = ""  # the column naming a row's unit: another unit's report reads only its rows
    province_wide: bool = False  # rows whose ``own`` is empty are read by every report too
    read: bool = True  # False: a record kept for the next run's protection, read by no report


# Every table of a run, in the order it is written; the build, the bundle, each unit's
# part and the digests of reuse are all derived from this list. Tables owned by
# ``unit`` are each report's own part (``Bundle.for_unit``, ``Bundle.unit_table``).
REGISTRY = (
    Table("units", "plan"),
    Table("progress", "progress", own="unit"),
    Table("milestones", "progress", own="unit"),
    Table("by_area", "progress", own="unit"),
    Table("milestone_names", "plan"),
    Table("priority_groups", "plan"),
    Table("people", "progress", own="unit"),
    Table("completeness", "progress", own="district"),
    Table("problems", "progress", own="district", province_wide=True),
    Table("findings", "plan"),
    Table("indicators", "plan"),
    Table("outcome_definitions", "plan"),
    Table("outcomes", "survey", own="unit"),
    Table("breakdowns", "survey", own="unit"),
    Table("changes", "survey", own="unit"),
    Table("effects", "survey", own="unit"),
    Table("small_areas", "survey", own="unit"),
    Table("sample", "survey", own="unit"),
    Table("disclosure", "progress", read=False),  # the survey step adds its respondents' cells
)
TABLES = tuple(t.name for t in REGISTRY)
UNIT_TABLES = tuple(t.name for t in REGISTRY if t.own == "unit")
RECORDS = tuple(t.name for t in REGISTRY if not t.read)


@dataclass
class Bundle:
    """Everything the reports of one run show, computed once (``evaluate.build``)."""

    phase: str
    as_of: dt.date
    rounds: list[str]
    province: str
    units: pd.DataFrame  # unit, name, level
    progress: pd.DataFrame
    milestones: pd.DataFrame  # unit, milestone, key, year, due, status ... (d8lib.monitoring.milestones)
    by_area: pd.DataFrame  # unit, area, indicator, achieved (progress.by_area)
    milestone_names: pd.DataFrame  # the plan's milestones: code, names, agency, source
    priority_groups: pd.DataFrame  # the plan's priority groups: code, names
    people: pd.DataFrame  # persons reached, as published: withheld cells are NaN (disclosure.protect_people)
    completeness: pd.DataFrame
    problems: pd.DataFrame
    findings: pd.DataFrame  # the plan's own contradictions: severity, message, message_en, source
    indicators: pd.DataFrame
    outcome_definitions: pd.DataFrame
    outcomes: pd.DataFrame  # unit, round, indicator, estimate ...
    breakdowns: pd.DataFrame  # unit, round, dimension, group, indicator, estimate ...
    changes: pd.DataFrame
    effects: pd.DataFrame
    small_areas: pd.DataFrame  # unit (new commune), indicator, round, estimate, mse, interval, shrinkage, direct, flag
    sample: pd.DataFrame  # unit, round, respondents, villages, strata
    disclosure: pd.DataFrame  # every protected count and whether it was withheld (disclosure.Protected.cells)
    design: dict = field(default_factory=dict)
    period: str = ""  # the reporting round of a monitoring review
    review: str = ""  # a scheduled review: YYYY (the year's), YYYY-<id> (the plan's or a round's), or adhoc
    review_titles: dict = field(default_factory=dict)  # the review as readers name it, by language
    unit_level: str = "district"  # the level of the units below the province that report (Plan.unit_level)
    illustration: dict = field(default_factory=dict)  # an invented plan says so (meta.illustration)
    period_names: dict = field(default_factory=dict)  # each reporting period as readers name it, by language
    plan_terms: list = field(default_factory=list)  # the plan's own words in its references, in English

    def for_unit(self, unit: str) -> dict[str, pd.DataFrame]:
        """The tables of one unit's report (the province's code or a district's)."""
        return {name: self.unit_table(name, unit) for name in UNIT_TABLES}

    def unit_table(self, name: str, unit: str) -> pd.DataFrame:
        """One of ``UNIT_TABLES`` as a unit's report reads it: its rows, without the unit column."""
        frame = getattr(self, name)
        return frame[frame.unit == unit].drop(columns="unit").reset_index(drop=True) if len(frame) else frame

    def has_content(self, unit: str) -> bool:
        """Whether a unit's report has anything to show: a target or a figure, persons
        reached, a milestone, a survey estimate, or reports it owes (the province's always)."""
        if unit == self.province:
            return True

        def own(name: str) -> pd.DataFrame:
            frame = getattr(self, name)
            return frame[frame.unit == unit] if len(frame) else frame

        progress = own("progress")
        figures = len(progress) and (progress.achieved.notna() | progress.target.notna()).any()
        return bool(
            figures
            or any(len(own(name)) for name in ("people", "milestones", "by_area", "outcomes", "small_areas"))
            or (self.completeness.district == unit).any()
        )

    def inputs_of(self, unit: str) -> dict:
        """What one unit's report reads of the run's tables and facts: the province's
        reads everything; another unit's reads its own rows of the tables that have an
        owner column (with the province-wide rows where the registry says so) and the
        shared tables whole."""
        facts = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in TABLES}
        if unit == self.province:
            return {"facts": facts, **{name: getattr(self, name) for name in TABLES if name not in RECORDS}}
        own = {t.name: self._rows_of(t, unit) for t in REGISTRY if t.own}
        shared = {name: getattr(self, name) for name in TABLES if name not in own and name not in RECORDS}
        return {"facts": facts, **own, **shared}

    def _rows_of(self, table: Table, unit: str) -> pd.DataFrame:
        frame = getattr(self, table.name)
        return frame[frame[table.own].isin([unit, ""] if table.province_wide else [unit])]

    def digests(self, units) -> dict[str, str]:
        """For each unit, a SHA-256 of what its report reads (``inputs_of``); the facts
        and each table read whole are written out once for all of them."""
        written: dict[str, str] = {}

        def text(name: str, value) -> str:
            shared = name == "facts" or value is getattr(self, name, None)
            if shared and name in written:
                return written[name]
            if isinstance(value, pd.DataFrame):
                out = _split_json(_plain(value))
            else:
                out = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
            if shared:
                written[name] = out
            return out

        found = {}
        for unit in units:
            hasher = hashlib.sha256()
            for name, value in self.inputs_of(unit).items():
                hasher.update(name.encode())
                hasher.update(text(name, value).encode())
            found[unit] = hasher.hexdigest()
        return found

    def save(self, folder: str | Path) -> Path:
        """Write the bundle as a folder, in one step: readers never see half of it."""
        folder = Path(folder)
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            for name in TABLES:
                _plain(getattr(self, name)).to_parquet(partial / f"{name}.parquet", index=False)
            facts = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in TABLES}
            facts["as_of"] = self.as_of.isoformat()
            (partial / "facts.json").write_text(json.dumps(facts, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(partial, folder)
        except BaseException:  # a full disk, an interruption: no half folder stays behind
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return folder


def load(folder: str | Path) -> Bundle:
    """Read a bundle written by ``Bundle.save``."""
    folder = Path(folder)
    facts = json.loads((folder / "facts.json").read_text(encoding="utf-8"))
    facts["as_of"] = dt.date.fromisoformat(facts["as_of"])
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    definitions = tables["outcome_definitions"]
    if "code" in definitions:
        tables["outcome_definitions"] = definitions.set_index("code", drop=False).rename_axis(None)
    return Bundle(**facts, **tables)


def _split_json(frame: pd.DataFrame) -> str:
    """The text of ``frame.to_json(orient="split", index=False)``, put together from its
    columns and its rows as pandas' C writer gives them ("values"): for Arrow-backed text
    the split orient goes through Python row by row, five times slower."""
    options = {"date_format": "iso", "default_handler": str}
    columns = pd.Series(list(frame.columns), dtype=object).to_json(orient="values", **options)
    return f'{{"columns":{columns},"data":{frame.to_json(orient="values", **options)}}}'


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A table Parquet can hold: categories as their values, lists as JSON text."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            frame[column] = values.astype(str)
        elif values.dtype == object:
            kinds = {type(v) for v in values if v is not None and not (isinstance(v, float) and pd.isna(v))}
            if kinds & {list, dict, tuple}:
                frame[column] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
    return frame.reset_index(drop=True)

"""Where each milestone stands: activities the plan asks for without a number.

A unit reports a milestone occurrence (``M6-2023``) done, with the date, or not done; the
latest report in the rounds due by the review date counts. Status codes, in this order:
``done_on_time`` (done by its due date), ``done_late``; then, for what is not reported
done, ``not_yet_due`` before the due date, ``awaiting_report`` between the due date and
the first reporting round after it (the figures cannot be in yet), ``overdue`` after.
Readers see the codes through ``data/labels.yaml``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from d8lib.monitoring.progress import rounds_due
from d8lib.plan.model import PEOPLE, Plan

STATUSES = ("done_on_time", "done_late", "overdue", "awaiting_report", "not_yet_due")


def _first_round_after(plan: Plan, day: dt.date) -> dt.date:
    later = sorted(d for d in plan.rounds.deadline if d > day)
    return later[0] if later else day


def _latest_reports(plan: Plan, values: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The latest answer per unit and occurrence in the rounds due by ``as_of``."""
    due = rounds_due(plan, as_of)
    order = {p: k for k, p in enumerate(plan.rounds.period)}
    reports = values[values.indicator.isin(plan.occurrences.key) & values.period.isin(due.period)]
    reports = reports.dropna(subset=["value"]).assign(position=reports.period.map(order))
    return reports.sort_values("position").groupby(["district", "indicator"]).tail(1)


def milestone_status(plan: Plan, values: pd.DataFrame, as_of: dt.date, others: list[str] = ()) -> pd.DataFrame:
    """One row per unit (the province, the districts and the ``others`` that report, the
    new communes, from the occurrences due once they exist) and milestone occurrence it
    reports: unit, milestone, key, year, due,
    dated, done_on, status, period (the round of the answer) and, where the milestone
    counts persons, people, female, male, ethnic_minority."""
    units = [plan.province, *plan.districts.unit, *others]
    grid = pd.concat([plan.milestones_of(u).assign(unit=u) for u in units], ignore_index=True)
    if plan.reform_date and len(others):  # a new commune answers only for what falls due once it exists
        grid = grid[~grid.unit.isin(others) | (pd.to_datetime(grid.due).dt.date >= plan.reform_date)]
    reports = _latest_reports(plan, values, as_of).rename(columns={"district": "unit", "indicator": "key"})
    columns = ["unit", "key", "value", "done_on", "period", *PEOPLE]
    rows = grid.merge(reports[columns], on=["unit", "key"], how="left")
    rows["done_on"] = pd.to_datetime(rows.done_on, errors="coerce").dt.date
    rows["status"] = [
        _status(plan, done == 1, done_on, due, as_of) for done, done_on, due in zip(rows.value, rows.done_on, rows.due)
    ]
    keep = ["unit", "milestone", "key", "year", "due", "dated", "counts", "done_on", "status", "period", *PEOPLE]
    return rows[keep]


def _status(plan: Plan, done: bool, done_on, due: dt.date, as_of: dt.date) -> str:
    if done:
        return "done_on_time" if pd.notna(done_on) and done_on <= due else "done_late"
    if as_of <= due:
        return "not_yet_due"
    return "awaiting_report" if as_of < _first_round_after(plan, due) else "overdue"


def summary(status: pd.DataFrame, province: str) -> pd.DataFrame:
    """Per milestone occurrence, how many districts stand at each status (the province's
    view of what the districts report)."""
    districts = status[status.unit != province]
    counts = districts.pivot_table(index=["milestone", "key", "year", "due"], columns="status", aggfunc="size")
    counts = counts.reindex(columns=list(STATUSES), fill_value=0).fillna(0).astype(int)
    return counts.reset_index()

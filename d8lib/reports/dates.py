"""The dates a run's figures run to: a phase's own date, the phase a date falls in, and
the date of a scheduled review of the plan. Light to import: a run settles its dates
before it loads the estimators."""

from __future__ import annotations

import datetime as dt

from d8lib.core.errors import InputError
from d8lib.core.paths import evaluation_settings
from d8lib.plan.model import Plan


def default_as_of(phase: str, today: dt.date | None = None) -> dt.date:
    """The date a phase's figures run to when a run names none: the phase's own date
    (``data/evaluation.yaml``), or today while that date is still to come."""
    return min(evaluation_settings()["phases"][phase]["as_of"], today or dt.date.today())


def phase_at(as_of: dt.date) -> str:
    """The phase a date falls in (the first whose default date is not before it)."""
    phases = sorted(evaluation_settings()["phases"], key=default_as_of)
    return next((p for p in phases if as_of <= default_as_of(p)), phases[-1])


def review_date(plan: Plan, review: str) -> dt.date:
    """The date a scheduled review's figures run to: a yearly review ("YYYY") to the
    deadline of the year's last round (its full-year update where the plan has one); a
    review of the plan's ``reporting.reviews`` ("YYYY-<id>", e.g. the 6-month "YYYY-06")
    to the date the plan gives it; a round's review ("YYYY-<round>", e.g. "2026-q1") to
    that round's deadline."""
    year, _, part = review.partition("-")
    rounds = plan.rounds[plan.rounds.year == int(year)]
    own = plan.reviews[plan.reviews.id == part]
    if part and len(own):
        return dt.date(int(year), int(own.month.iloc[0]), int(own.day.iloc[0]))
    if part and review in set(rounds.period):
        return rounds.deadline[rounds.period == review].iloc[0]
    if not part and len(rounds):
        return rounds.deadline.max()
    known = (
        [year] * bool(len(rounds))
        + [f"{year}-{i}" for i in plan.reviews.id]
        + list(rounds.period[rounds.period != year])
    )
    choices = ", ".join(known) or f"reporting.years: {', '.join(map(str, sorted(set(plan.rounds.year))))}"
    raise InputError(
        f"Kế hoạch {plan.meta['number']} không có đợt rà soát hay kỳ báo cáo {review} ({choices})",
        f"Plan {plan.meta['number']} has no review or reporting round {review} ({choices})",
    )

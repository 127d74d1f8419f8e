"""Progress against the plan as of a date, and the completeness and timeliness of reports.

Which figures count as of a date: those of the reporting rounds whose deadline has
passed by then (a round's figures stand for the state at its deadline). A district's
achieved value of an indicator:

- cumulative count (a stock, e.g. teams): the value of its latest round;
- additive count (a flow, e.g. classes): per year the full-year update
  (``YYYY-final``) where there is one, else the 10/9 report; the years added up;
- percent: numerator and denominator of its latest round.

The province adds up its districts' achieved counts, and computes percentages from
the summed numerators and denominators, never by averaging percentages.

The progress expected at a date follows the target's timeline: linear from its start
to its completion for targets built up over time; the whole target from the start for
standards to maintain (percent targets and recurring activities); milestone years for
targets set as events in given years.

Every district gets a row for each indicator it reports: where the plan allocates no
district target, a percent target applies to each district as to the province, and a
count has none (status ``no_target``).

Status, in this order: ``no_target``; ``no_data`` when nothing was reported; ``completed`` when the
achieved value reaches the target; ``not_due`` while nothing is expected yet;
``on_track`` at or above a share of the expected value, ``at_risk`` below a lower
share, ``behind`` between (the shares of ``data/rules/status.yaml``). Once a target's
completion date has passed: ``met`` if the figures of that date reached it (those of
the first round due after it, the year's full-year update), ``met_late`` if later
figures did, ``not_met`` otherwise. Statuses are codes; readers see them through
``data/labels.yaml``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
import yaml

from d8lib.core.paths import DATA_DIR
from d8lib.plan.model import NUMBERS, Plan

THRESHOLDS = DATA_DIR / "rules" / "status.yaml"


def rounds_due(plan: Plan, as_of: dt.date) -> pd.DataFrame:
    """The reporting rounds whose deadline has passed by ``as_of``."""
    return plan.rounds[plan.rounds.deadline <= as_of]


def _district_totals(values: pd.DataFrame) -> pd.DataFrame:
    """One row per district, period and indicator: commune rows added up."""
    return values.groupby(["district", "period", "indicator"], as_index=False)[NUMBERS].sum(min_count=1)


def _flows(plan: Plan, codes: pd.Series) -> pd.Series:
    """Whether each code is a flow (its years add up): an additive count, or persons
    reached from a priority group."""
    kinds = plan.indicators.set_index("code")
    additive = codes.map(kinds.aggregation).eq("additive") & codes.map(kinds.measure).eq("count")
    return additive | codes.isin(plan.priority_groups.code)


def _rounds_used(plan: Plan, values: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The rows of the rounds each district's figure is taken from: a stock's latest round,
    a flow's latest round of each year."""
    due = rounds_due(plan, as_of)
    rows = values[values.period.isin(due.period)]
    year = rows.period.map(plan.rounds.set_index("period").year)
    position = rows.period.map({p: k for k, p in enumerate(plan.rounds.period)})
    scope = year.where(_flows(plan, rows.indicator), -1)  # a stock: one scope for all years
    latest = position.groupby([rows.district, rows.indicator, scope]).transform("max")
    return rows[position == latest]


def achieved(plan: Plan, values: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Each district's achieved value per indicator as of a date (see the module notes);
    also per priority group (persons reached, a flow) and milestone occurrence.

    ``values`` are current stored values (``Store.values()``). Returns district,
    indicator, value, numerator, denominator, people, female, male, ethnic_minority,
    period (the latest round used).
    """
    due = rounds_due(plan, as_of)
    order = {p: k for k, p in enumerate(plan.rounds.period)}
    columns = ["district", "indicator", "period"] + NUMBERS
    if values.empty or due.empty:
        return pd.DataFrame(columns=columns)
    rows = _district_totals(values[values.period.isin(due.period)])
    rows = rows.merge(plan.rounds[["period", "year", "round"]], on="period")
    rows["position"] = rows.period.map(order)
    rows["flow"] = _flows(plan, rows.indicator)
    stocks = rows[~rows.flow].sort_values("position").groupby(["district", "indicator"]).tail(1)
    flows = rows[rows.flow].sort_values("position").groupby(["district", "indicator", "year"]).tail(1)
    flow_totals = _summed(flows, ["district", "indicator"], "last")
    return pd.concat([stocks[columns], flow_totals[columns]], ignore_index=True)


def _summed(rows: pd.DataFrame, keys: list[str], period: str) -> pd.DataFrame:
    """``rows`` added up per ``keys``: the numbers (missing where every row's is) and the
    period as ``period`` ("last" or "max") says."""
    grouped = rows.groupby(keys)
    return grouped[NUMBERS].sum(min_count=1).join(grouped.period.agg(period)).reset_index()


def expected_share(target: pd.Series, measure: str, as_of: dt.date) -> float:
    """Share of a target expected by ``as_of`` from its timeline (a row of ``plan.targets``)."""
    start, complete = target["start"], target["complete"]
    if as_of < start:
        return 0.0
    recurring = isinstance(target.get("recurring"), str)
    if measure == "percent" or recurring:
        return 1.0
    years = target.get("years")
    if isinstance(years, list) and years:
        return sum(dt.date(y, 12, 31) <= as_of for y in years) / len(years)
    span = (complete - start).days
    return float(np.clip((as_of - start).days / span, 0, 1)) if span > 0 else 1.0


def status(achieved_value: float, target: float, expected: float) -> str:
    """The status code of a target (see the module notes)."""
    if pd.isna(target):
        return "no_target"
    if pd.isna(achieved_value):
        return "no_data"
    if achieved_value >= target:
        return "completed"
    if expected <= 0:
        return "not_due"
    ratio = achieved_value / expected
    shares = thresholds()
    return "on_track" if ratio >= shares["on_track"] else "behind" if ratio >= shares["at_risk"] else "at_risk"


@lru_cache(maxsize=1)
def thresholds() -> dict:
    """The shares of the expected value that separate the statuses."""
    return yaml.safe_load(THRESHOLDS.read_text(encoding="utf-8"))


def after_deadline(achieved_now: float, achieved_then: float | None, target: float) -> str:
    """The status of a target whose completion date has passed: ``met`` (reached by
    then), ``met_late`` (reached since) or ``not_met``."""
    if achieved_then is not None and not pd.isna(achieved_then) and achieved_then >= target:
        return "met"
    return "met_late" if achieved_now >= target else "not_met"


def _figures_of(plan: Plan, deadline: dt.date) -> dt.date:
    """The date whose figures say whether a target was reached by ``deadline``: the first
    reporting round due after it (a year's target is judged on that year's full-year
    update), or the deadline itself when no round follows."""
    later = sorted(d for d in plan.rounds.deadline if d > deadline)
    return later[0] if later else deadline


def _achieved_by_unit(plan: Plan, values: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Achieved per indicator and unit as of a date: districts, and the province as their
    sum with what the province reports itself (percentages from summed numerators and
    denominators)."""
    per_district = achieved(plan, values, as_of)
    totals = _summed(per_district, ["indicator"], "max").assign(district=plan.province)
    districts = per_district[per_district.district != plan.province]  # the province's own values are in its total
    everything = pd.concat([districts, totals], ignore_index=True).rename(columns={"district": "unit"})
    percent = everything.indicator.map(plan.indicators.set_index("code").measure).eq("percent")
    with np.errstate(divide="ignore", invalid="ignore"):
        everything["achieved"] = np.where(
            percent, 100 * everything.numerator / everything.denominator, everything.value
        )
    return everything


def targets_by_unit(plan: Plan) -> pd.DataFrame:
    """``plan.targets`` with a row for every district and indicator it reports."""
    district_indicators = plan.indicators[plan.indicators.reported_by == "district"]
    province = plan.targets[plan.targets.unit == plan.province].set_index("indicator")
    grid = (
        district_indicators[["code"]].rename(columns={"code": "indicator"}).merge(plan.districts[["unit"]], how="cross")
    )
    missing = grid.merge(plan.targets[["indicator", "unit"]], how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
    added = missing.join(province.drop(columns="unit"), on="indicator")
    percent = added.indicator.map(plan.indicators.set_index("code").measure).eq("percent")
    added["target"] = added.target.where(percent)
    added["source"] = added.source.where(percent, "")
    return pd.concat([plan.targets, added[plan.targets.columns]], ignore_index=True)


def progress(plan: Plan, values: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Achieved against target and against what the timeline expects, per indicator and unit.

    One row per target of the plan (the province and each district it is allocated
    to): indicator, unit, period (latest round used), complete (the target's
    completion date), achieved, target, percent_achieved, expected, expected_share,
    status, numerator, denominator. Percent indicators give achieved in percent.
    """
    measures = plan.indicators.set_index("code").measure
    rows = targets_by_unit(plan).merge(_achieved_by_unit(plan, values, as_of), on=["indicator", "unit"], how="left")
    for column in ("achieved", "numerator", "denominator"):  # numbers even where nothing is due yet
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    rows["expected_share"] = [expected_share(t, measures[t["indicator"]], as_of) for _, t in rows.iterrows()]
    rows["expected"] = rows.target * rows.expected_share
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["percent_achieved"] = 100 * rows.achieved / rows.target
    rows["status"] = [status(a, t, e) for a, t, e in zip(rows.achieved, rows.target, rows.expected)]
    passed = rows.complete.notna() & (rows.complete < as_of) & rows.target.notna() & rows.achieved.notna()
    for deadline in rows.complete[passed].unique():
        then = _achieved_by_unit(plan, values, min(_figures_of(plan, deadline), as_of))
        then = then.set_index(["indicator", "unit"]).achieved
        due = passed & (rows.complete == deadline)
        rows.loc[due, "status"] = [
            after_deadline(a, then.get((i, u)), t)
            for a, i, u, t in zip(rows.achieved[due], rows.indicator[due], rows.unit[due], rows.target[due])
        ]
    return rows[
        [
            "indicator",
            "unit",
            "period",
            "complete",
            "achieved",
            "target",
            "percent_achieved",
            "expected",
            "expected_share",
            "status",
            "numerator",
            "denominator",
        ]
    ]


UNLOCATED = "unlocated"  # a figure given for a whole district, not for a commune


def by_area(plan: Plan, values: pd.DataFrame, areas: pd.Series, as_of: dt.date) -> pd.DataFrame:
    """What each unit achieved per area (``areas`` maps a commune code to its area, the
    zone I, II or III of the village register) and count indicator, from the rows that
    name their commune; rows for a whole district are ``unlocated``. The rounds are those
    the district's own figure comes from (``achieved``), so the areas add up to it.
    Returns unit, area, indicator, achieved; the province adds up its districts."""
    values = _rounds_used(plan, values, as_of)
    area = values.commune.map(areas).astype(object).fillna(UNLOCATED) if "commune" in values else UNLOCATED
    placed = values.assign(district=values.district + "|" + area)
    counts = set(plan.indicators.code[plan.indicators.measure == "count"])
    reached = achieved(plan, placed, as_of)
    reached = reached[reached.indicator.isin(counts)]
    columns = ["unit", "area", "indicator", "achieved"]
    if reached.empty:
        return pd.DataFrame(columns=columns)
    reached[["unit", "area"]] = reached.district.str.split("|", n=1, expand=True)
    reached = reached.rename(columns={"value": "achieved"})
    districts = reached[reached.unit != plan.province]
    province = reached.groupby(["area", "indicator"], as_index=False).achieved.sum().assign(unit=plan.province)
    return pd.concat([districts[columns], province[columns]], ignore_index=True)


def unit_progress(plan: Plan, values: pd.DataFrame, as_of: dt.date, units: list[str]) -> pd.DataFrame:
    """Progress of reporting units the plan allocates no target to (the new communes):
    what each achieved per indicator it reported, against the province's target where
    that is a percentage (a standard every unit keeps). Columns as ``progress``."""
    reached = achieved(plan, values[values.district.isin(units)], as_of).rename(columns={"district": "unit"})
    province = plan.targets[plan.targets.unit == plan.province].set_index("indicator")
    measures = plan.indicators.set_index("code").measure
    rows = reached[reached.indicator.isin(measures.index)].join(province.drop(columns="unit"), on="indicator")
    percent = rows.indicator.map(measures).eq("percent")
    rows["target"] = rows.target.where(percent)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["achieved"] = np.where(percent, 100 * rows.numerator / rows.denominator, rows.value)
        rows["percent_achieved"] = 100 * rows.achieved / rows.target
    rows["expected_share"] = [expected_share(t, measures[t["indicator"]], as_of) for _, t in rows.iterrows()]
    rows["expected"] = rows.target * rows.expected_share
    rows["status"] = [status(a, t, e) for a, t, e in zip(rows.achieved, rows.target, rows.expected)]
    columns = ["indicator", "unit", "period", "complete", "achieved", "target", "percent_achieved", "expected"]
    return rows[columns + ["expected_share", "status", "numerator", "denominator"]].reset_index(drop=True)


def completeness(plan: Plan, submissions: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Expected, received, on-time, late and missing reports per district and round.

    ``submissions`` is ``Store.submissions()`` (with ``reported_by`` where new communes
    report for their old district, ``reform.by_old_district``). A report is on time when it was sent
    (or, where the file does not say, received) on or before the round's deadline; the
    first submission counts for timeliness, later ones are re-submissions. Returns
    district, period, deadline, received (bool), sent_on, days_late, on_time,
    resubmissions.
    """
    due = rounds_due(plan, as_of)
    grid = plan.districts[["unit"]].rename(columns={"unit": "district"}).merge(due[["period", "deadline"]], how="cross")
    if submissions.empty:
        submissions = pd.DataFrame(columns=["district", "period", "sent_on", "received_at", "id"])
    subs = submissions.copy()
    subs["date"] = pd.to_datetime(subs.sent_on.fillna(subs.received_at.str[:10])).dt.date
    if "reported_by" not in subs:
        subs["reported_by"] = subs.district
    first = (  # a district reported by its new communes: when the last of them first sent
        subs.sort_values("id")
        .groupby(["district", "period", "reported_by"], as_index=False)
        .agg(sent_on=("date", "first"), count=("id", "size"))
        .groupby(["district", "period"], as_index=False)
        .agg(sent_on=("sent_on", "max"), count=("count", lambda c: int((c - 1).sum()) + 1))
    )
    rows = grid.merge(first, on=["district", "period"], how="left")
    rows["received"] = rows.sent_on.notna()
    rows["days_late"] = [
        max((s - d).days, 0) if isinstance(s, dt.date) else np.nan for s, d in zip(rows.sent_on, rows.deadline)
    ]
    rows["on_time"] = rows.received & rows.days_late.eq(0)
    rows["resubmissions"] = (rows["count"].fillna(1) - 1).astype(int)
    return rows[["district", "period", "deadline", "received", "sent_on", "days_late", "on_time", "resubmissions"]]


def completeness_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per round: expected, received, on time, late, missing, re-submitted, mean days late."""
    return (
        table.groupby("period", sort=False)
        .agg(
            expected=("district", "size"),
            received=("received", "sum"),
            on_time=("on_time", "sum"),
            late=("days_late", lambda s: int((s > 0).sum())),
            missing=("received", lambda s: int((~s).sum())),
            resubmitted=("resubmissions", lambda s: int((s > 0).sum())),
            mean_days_late=("days_late", lambda s: s[s > 0].mean()),
        )
        .reset_index()
    )

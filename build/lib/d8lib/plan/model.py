"""The plan as data: indicators, targets by unit, timelines, and checks of consistency.

A plan is one YAML file (default: the one named in ``data/config.yaml``); nothing
about a particular province lives in this module. ``load_plan`` reads it into a ``Plan``
whose tables are DataFrames; ``Plan.check`` returns ``Finding`` objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from d8lib.core.errors import Bilingual
from d8lib.core.paths import default_plan_path
from d8lib.core.text import nfc
from d8lib.units.registry import UnitError, Units, load_units

MEASURES = ("count", "percent")
# The persons a submission counts, with their breakdowns (sex, ethnic minority), and
# every number a submission row carries: the one list of each that d8 uses.
PEOPLE = ["people", "female", "male", "ethnic_minority"]
NUMBERS = ["value", "numerator", "denominator", *PEOPLE]
AGGREGATIONS = ("cumulative", "additive")


# The reading of an ambiguous target when a plan file names none.
DEFAULT_READING = "over_phase"


class PlanError(Bilingual, ValueError):
    """A plan file that cannot be read as a plan."""


@dataclass(frozen=True)
class Finding:
    """One result of ``Plan.check``: ``severity`` is ``error`` or ``warning``."""

    severity: str
    message: str
    message_en: str
    source: str
    hint: str = ""  # for whoever edits the plan file (``d8 plan check``), never shown to readers


@dataclass(frozen=True)
class Plan:
    """A plan read from its file. Every table is a DataFrame; codes are strings.

    - ``indicators``: code, name_vi, name_en, measure, unit_vi, unit_en, higher_is_better,
      aggregation, numerator, denominator, people, reported_by, activity
    - ``targets``: indicator, unit, target, comparator, headline, start, complete, recurring,
      years, source, timeline_source, timeline_text; the province row (unit = province code) for every
      target and one row per district where the plan allocates it
    - ``statements``: indicator, value, source, text: every place the plan states a target
    - ``readings``: indicator, reading, chosen, target, years, source, text, en: the
      readings of a target whose words allow two, and which one progress follows
    - ``allocation``: indicator, unit, name, target, row, column (the district table)
    - ``activities``, ``content_areas``, ``agencies``: code, names, source
    - ``rounds``: the reporting rounds (period, year, round, deadline, labels, short names)
    - ``reviews``: id, month, day, labels, source: the reviews held besides the yearly
      one (``reporting.reviews``; "YYYY-06", the 6-month review, to 30 June)
    - ``milestones``: code, activity, name_vi, name_en, reported_by, agency, partners, counts,
      dated, source, text: activities the plan asks for without a number
    - ``occurrences``: key (``M6-2023``, the code units report), milestone, year, due: each
      time a milestone is due (one a year at most)
    - ``priority_groups``: code, name_vi, name_en, source: whom units count as reached
    - ``reform``: date and unit level from which new units report (``reporting.reform``)
    - ``unit_level``: the level of the units below the province that report
      (``reporting.level``): ``district`` in plans before the reform, ``commune_2025`` in
      plans made after it. Those units are "districts" in d8's tables and columns.
    - ``references``: source, kind, code: each line of the plan the file gives a place (an
      indicator's target, a milestone, the reporting rounds, the priority groups and areas)
      or judges not reportable (kind ``not_reportable``, with the reason as code)
    """

    path: Path
    meta: dict
    indicators: pd.DataFrame
    targets: pd.DataFrame
    statements: pd.DataFrame
    readings: pd.DataFrame
    allocation: pd.DataFrame
    allocation_totals: pd.DataFrame
    content_areas: pd.DataFrame
    activities: pd.DataFrame
    agencies: pd.DataFrame
    rounds: pd.DataFrame
    reviews: pd.DataFrame
    milestones: pd.DataFrame
    occurrences: pd.DataFrame
    priority_groups: pd.DataFrame
    references: pd.DataFrame
    reform: dict
    unit_level: str
    units_dir: Path | None

    @property
    def province(self) -> str:
        """The GSO code of the plan's province."""
        return self.meta["province"]["code"]

    @property
    def phase(self) -> tuple[dt.date, dt.date]:
        """First and last day of the plan's phase."""
        return self.meta["phase"]["start"], self.meta["phase"]["end"]

    @property
    def districts(self) -> pd.DataFrame:
        """The units below the province that report (districts, or the new communes of a
        plan made after the reform): unit, name. Those the plan allocates targets to or,
        where it allocates none (targets for the province only), every unit of that level
        in its unit tables: they report what they do without a target of their own."""
        if self.allocation.empty and self.units() is not None:
            table = self.units().at_level(self.unit_level)
            return pd.DataFrame({"unit": table.code, "name": table.name})
        return self.allocation[["unit", "name"]].drop_duplicates(ignore_index=True)

    @property
    def person_indicators(self) -> list[str]:
        """The indicators whose figure is a count of persons (unit ``người`` / ``persons``):
        their figures are protected like the persons reached."""
        unit_vi = self.indicators.unit_vi.fillna("").str.strip().str.lower()
        unit_en = self.indicators.unit_en.fillna("").str.strip().str.lower()
        return self.indicators.code[
            (self.indicators.measure == "count") & (unit_vi.eq("người") | unit_en.isin(["persons", "people"]))
        ].tolist()

    def units(self) -> Units | None:
        """The unit tables the plan names (read once per folder), or None."""
        return _units_in(str(self.units_dir)) if self.units_dir else None

    @property
    def reform_date(self) -> dt.date | None:
        """The day from which the new communes report (``reporting.reform``), if any."""
        return self.reform.get("date")

    def reporting_units(self) -> pd.DataFrame:
        """Who may send a report: unit, name, level (the province, its districts and, after
        the reform, the new communes of the unit tables)."""
        frames = [
            pd.DataFrame({"unit": [self.province], "name": [self.meta["province"]["name"]], "level": ["province"]}),
            self.districts.assign(level=self.unit_level),
        ]
        if self.reform_date and self.units() is not None:
            level = self.reform["level"]
            communes = self.units().at_level(level)
            frames.append(pd.DataFrame({"unit": communes.code, "name": communes.name, "level": level}))
        return pd.concat(frames, ignore_index=True)

    def milestones_of(self, unit: str) -> pd.DataFrame:
        """The occurrences of the milestones a unit reports (the province its own, a district
        those of the districts), with each milestone's row joined."""
        reporter = "province" if unit == self.province else "districts"
        owned = self.milestones[self.milestones.reported_by.isin([reporter, "both"])]
        return self.occurrences.merge(owned, left_on="milestone", right_on="code").drop(columns="code")

    def readiness(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """What the plan lacks for each command: (command, [(Vietnamese, English), ...]),
        an empty list where the command can use the plan."""
        units = self.units()
        no_units = [] if units is not None else [("mục units: bảng đơn vị", "section units: the unit tables")]
        no_rounds = [] if len(self.rounds) else [("mục reporting: kỳ báo cáo", "section reporting: reporting rounds")]
        by_province = (self.indicators.reported_by == "province").any() or len(self.milestones_of(self.province))
        by_districts = (self.indicators.reported_by == "district").any() or self.milestones.reported_by.ne(
            "province"
        ).any()
        return [
            (
                f"d8 template --{self.unit_level.replace('_', '-')}",
                no_units + no_rounds + _lacking(by_districts, "district", "districts"),
            ),
            ("d8 template --province", no_rounds + _lacking(by_province, "province", "province")),
            ("d8 intake", no_units + no_rounds),
            ("d8 run --review", no_units + no_rounds),
            ("d8 run --phase", no_units),
        ]

    def check(self) -> list[Finding]:
        """Findings on the plan's consistency: errors first, then warnings."""
        findings = (
            _check_references(self)
            + _check_allocation(self)
            + _check_timelines(self)
            + _check_units(self)
            + _check_values(self)
            + _contradictions(self)
            + _ambiguities(self)
        )
        return sorted(findings, key=lambda f: f.severity != "error")


def _lacking(reported: bool, who: str, owner: str) -> list[tuple[str, str]]:
    """What a form lacks when nothing is reported by ``who``."""
    if reported:
        return []
    return [
        (
            f"chỉ số (reported_by: {who}) hoặc mốc (reported_by: {owner} hoặc both) do đơn vị này báo cáo",
            f"an indicator (reported_by: {who}) or milestone (reported_by: {owner} or both) this unit reports",
        )
    ]


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PlanError(f"Không đọc được kế hoạch {path}", f"Cannot read plan {path}: {exc}") from exc
    missing = [k for k in ("meta", "indicators", "targets") if not isinstance(data, dict) or k not in data]
    if missing:
        raise PlanError(f"Kế hoạch {path} thiếu mục {missing}", f"Plan {path} lacks {missing}")
    return data


def _frame(records: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records)
    for column in columns:
        if column not in frame:
            frame[column] = None
    return frame[columns]


def _indicators(data: dict) -> pd.DataFrame:
    columns = [
        "code",
        "name_vi",
        "name_en",
        "measure",
        "unit_vi",
        "unit_en",
        "higher_is_better",
        "aggregation",
        "numerator",
        "denominator",
        "people",
        "reported_by",
        "activity",
    ]
    frame = _frame(data["indicators"], columns)
    frame["reported_by"] = frame["reported_by"].fillna("district")
    frame["code"] = frame["code"].astype(str)
    return frame


def _statements(data: dict) -> pd.DataFrame:
    rows = [
        dict(indicator=str(t["indicator"]), value=s["value"], source=nfc(s["source"]), text=s.get("text", ""))
        for t in data["targets"]
        for s in t.get("statements", [])
    ]
    return _frame(rows, ["indicator", "value", "source", "text"])


def _allocation(data: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    block = data.get("allocation") or {}
    codes = [str(c) for c in block.get("indicators", [])]
    source = block.get("source", "")
    rows = [
        dict(
            indicator=code,
            unit=str(d["unit"]),
            name=nfc(d.get("name", "")),
            target=value,
            row=d.get("row"),
            column=k + 1,
            source=f"{source}, dòng {d.get('row')}, cột {k + 1}",
        )
        for d in block.get("districts") or block.get("communes") or []
        for k, (code, value) in enumerate(zip(codes, d["values"], strict=True))
    ]
    province = block.get("province") or {}
    totals = [
        dict(
            indicator=code,
            target=value,
            column=k + 1,
            source=f"{source}, dòng “{province.get('row', '')}”, cột {k + 1}",
        )
        for k, (code, value) in enumerate(zip(codes, province.get("values", []), strict=True))
    ]
    return (
        _frame(rows, ["indicator", "unit", "name", "target", "row", "column", "source"]),
        _frame(totals, ["indicator", "target", "column", "source"]),
    )


def _targets(data: dict, province: str, allocation: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for t in data["targets"]:
        timeline = t.get("timeline") or {}
        statements = t.get("statements") or [{}]
        base = dict(
            indicator=str(t["indicator"]),
            comparator=t.get("comparator", "="),
            headline=bool(t.get("headline")),
            start=timeline.get("start"),
            complete=timeline.get("complete"),
            recurring=timeline.get("recurring"),
            years=timeline.get("years"),
            timeline_source=timeline.get("source", ""),
            timeline_text=timeline.get("text", ""),
        )
        target, source = t["target"], statements[0].get("source", "")
        readings = t.get("readings")
        if readings:  # the plan reads two ways; the file says which reading progress follows
            chosen = readings[readings.get("chosen", DEFAULT_READING)]
            target, source = chosen["target"], chosen.get("source", source)
            base["years"] = chosen.get("years", base["years"])
        rows.append(dict(base, unit=province, target=target, source=source))
        for a in allocation[allocation.indicator == base["indicator"]].itertuples(index=False):
            rows.append(dict(base, unit=a.unit, target=a.target, source=a.source))
    columns = [
        "indicator",
        "unit",
        "target",
        "comparator",
        "headline",
        "start",
        "complete",
        "recurring",
        "years",
        "source",
        "timeline_source",
        "timeline_text",
    ]
    frame = _frame(rows, columns)
    for column in ("start", "complete"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def _readings(data: dict) -> pd.DataFrame:
    rows = []
    for t in data["targets"]:
        readings = t.get("readings") or {}
        chosen = readings.get("chosen", DEFAULT_READING)
        for name, r in readings.items():
            if name != "chosen":
                rows.append(
                    dict(
                        indicator=str(t["indicator"]),
                        reading=name,
                        chosen=name == chosen,
                        target=r["target"],
                        years=r.get("years"),
                        source=r.get("source", ""),
                        text=r.get("text", ""),
                        en=r.get("en", ""),
                    )
                )
    return _frame(rows, ["indicator", "reading", "chosen", "target", "years", "source", "text", "en"])


def _rounds(data: dict) -> pd.DataFrame:
    reporting = data.get("reporting") or {}
    issued = data["meta"]["date"]
    rows = []
    for year in reporting.get("years", []):
        for r in reporting.get("rounds", []):
            d = r["deadline"]
            deadline = dt.date(year + d.get("year_offset", 0), d["month"], d["day"])
            if deadline < issued:
                continue  # a round due before the plan existed is not expected of anyone
            rows.append(
                dict(
                    period=str(year) if r["id"] == "annual" else f"{year}-{r['id']}",
                    year=year,
                    round=r["id"],
                    deadline=deadline,
                    label_vi=r.get("label_vi", ""),
                    label_en=r.get("label_en", ""),
                    short_vi=r.get("short_vi", r.get("label_vi", "")),
                    short_en=r.get("short_en", r.get("label_en", "")),
                    source=reporting.get("source", ""),
                )
            )
    columns = ["period", "year", "round", "deadline", "label_vi", "label_en", "short_vi", "short_en", "source"]
    return _frame(rows, columns)


def _reviews(data: dict) -> pd.DataFrame:
    reviews = (data.get("reporting") or {}).get("reviews") or []
    rows = [
        dict(
            id=str(r["id"]),
            month=r["as_of"]["month"],
            day=r["as_of"]["day"],
            label_vi=r.get("label_vi", ""),
            label_en=r.get("label_en", ""),
            source=r.get("source", ""),
        )
        for r in reviews
    ]
    return _frame(rows, ["id", "month", "day", "label_vi", "label_en", "source"])


MILESTONE_OWNERS = ("province", "districts", "both")


def _milestones(data: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, occurrences = [], []
    for m in data.get("milestones", []):
        code, due = str(m["code"]), m["due"]
        rows.append(
            dict(
                m,
                code=code,
                partners=tuple(m.get("partners", ())),
                dated=m.get("dated", True),
                source=nfc(m["source"]),
            )
        )
        occurrences += [
            dict(
                key=f"{code}-{year}",
                milestone=code,
                year=year,
                due=dt.date(year + due.get("year_offset", 0), due["month"], due["day"]),
            )
            for year in due["years"]
        ]
    columns = ["code", "activity", "name_vi", "name_en", "reported_by", "agency", "partners", "counts", "dated"]
    return _frame(rows, columns + ["source", "text"]), _frame(occurrences, ["key", "milestone", "year", "due"])


def _priority_groups(data: dict) -> pd.DataFrame:
    block = data.get("priority_groups") or {}
    rows = [dict(g, code=str(g["code"]), source=block.get("source", "")) for g in block.get("groups", [])]
    return _frame(rows, ["code", "name_vi", "name_en", "source"])


def _split(source: str) -> list[str]:
    """The single references of a source string ("A; B" names two lines)."""
    return [nfc(part.strip()) for part in str(source or "").split(";") if part.strip()]


def _references(data: dict) -> pd.DataFrame:
    rows = []

    def place(source, kind, code):
        rows.extend(dict(source=ref, kind=kind, code=str(code)) for ref in _split(source))

    for t in data["targets"]:
        code = t["indicator"]
        for s in t.get("statements", []):
            place(s.get("source"), "indicator", code)
        place((t.get("timeline") or {}).get("source"), "indicator", code)
        place(t.get("covers"), "indicator", code)
        for name, r in (t.get("readings") or {}).items():
            if name != "chosen":
                place(r.get("source"), "indicator", code)
    for m in data.get("milestones", []):
        place(m["source"], "milestone", m["code"])
    reporting = data.get("reporting") or {}
    place(reporting.get("source"), "reporting", "rounds")
    place((reporting.get("adhoc") or {}).get("source"), "reporting", "adhoc")
    for r in reporting.get("reviews") or []:
        place(r.get("source"), "review", r["id"])
    place((data.get("priority_groups") or {}).get("source"), "priority", "groups")
    place((data.get("priority_areas") or {}).get("source"), "priority", "areas")
    for n in data.get("not_reportable", []):
        place(n["source"], "not_reportable", n["reason"])
    return _frame(rows, ["source", "kind", "code"])


def _unit_level(data: dict) -> str:
    level = (data.get("reporting") or {}).get("level", "district")
    if level not in ("district", "commune_2025"):
        raise PlanError(
            f"reporting.level «{level}» không hợp lệ: district hoặc commune_2025",
            f"reporting.level '{level}' is not district or commune_2025",
        )
    if level == "commune_2025" and (data.get("reporting") or {}).get("reform"):
        raise PlanError(
            "Kế hoạch theo xã mới (reporting.level: commune_2025) không có reporting.reform",
            "A plan by new communes (reporting.level: commune_2025) has no reporting.reform",
        )
    return level


def load_plan(path: str | Path | None = None) -> Plan:
    """Read a plan file (default: the plan of ``data/config.yaml``)."""
    path = Path(path) if path else default_plan_path()
    data = _read_yaml(path)
    try:
        return _plan(path, data)
    except PlanError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanError(
            f"Kế hoạch {path} không đúng cấu trúc ({type(exc).__name__}: {exc})",
            f"Plan {path} is not shaped as a plan ({type(exc).__name__}: {exc})",
        ) from exc


def _plan(path: Path, data: dict) -> Plan:
    meta = data["meta"]
    meta["province"]["code"] = str(meta["province"]["code"])
    allocation, totals = _allocation(data)
    milestones, occurrences = _milestones(data)
    areas = data.get("content_areas", [])
    activities = [dict(a, content_area=c["code"]) for c in areas for a in c.get("activities", [])]
    return Plan(
        path=path,
        meta=meta,
        indicators=_indicators(data),
        targets=_targets(data, meta["province"]["code"], allocation),
        statements=_statements(data),
        readings=_readings(data),
        allocation=allocation,
        allocation_totals=totals,
        content_areas=_frame(areas, ["code", "name_vi", "name_en", "source"]),
        activities=_frame(activities, ["code", "content_area", "name_vi", "name_en", "source"]),
        agencies=_frame(data.get("agencies", []), ["code", "role", "name_vi", "name_en", "source"]),
        rounds=_rounds(data),
        reviews=_reviews(data),
        milestones=milestones,
        occurrences=occurrences,
        priority_groups=_priority_groups(data),
        references=_references(data),
        reform=(data.get("reporting") or {}).get("reform") or {},
        unit_level=_unit_level(data),
        units_dir=(path.parent / data["units"]).resolve() if data.get("units") else None,
    )


# --- checks ---------------------------------------------------------------------------


def _error(message: str, message_en: str, source: str) -> Finding:
    return Finding("error", message, message_en, source)


def _check_references(plan: Plan) -> list[Finding]:
    known = set(plan.indicators.code)
    found = [
        _error(
            f"Chỉ tiêu gắn với chỉ số không có trong danh mục: {code}",
            f"Target refers to an indicator that is not declared: {code}",
            plan.path.name,
        )
        for code in sorted(set(plan.targets.indicator) - known)
    ]
    activities = set(plan.activities.code)
    if activities:
        found += [
            _error(
                f"Chỉ số {i.code} gắn với hoạt động không có trong kế hoạch: {i.activity}",
                f"Indicator {i.code} refers to an undeclared activity: {i.activity}",
                plan.path.name,
            )
            for i in plan.indicators.itertuples()
            if i.activity and i.activity not in activities
        ]
    codes = pd.concat([plan.indicators.code, plan.milestones.code, plan.priority_groups.code])
    found += [_error(f"Mã bị trùng: {c}", f"Duplicate code: {c}", plan.path.name) for c in codes[codes.duplicated()]]
    agencies = set(plan.agencies.code)
    for m in plan.milestones.itertuples():
        named = [m.agency, *m.partners]
        wrong = [a for a in named if a not in agencies] + (
            [m.activity] if isinstance(m.activity, str) and m.activity not in activities else []
        )
        if m.reported_by not in MILESTONE_OWNERS or wrong:
            found.append(
                _error(
                    f"Mốc {m.code}: người báo cáo, cơ quan hoặc hoạt động không hợp lệ ({m.reported_by}, {', '.join(wrong)})",
                    f"Milestone {m.code}: invalid reporter, agency or activity ({m.reported_by}, {', '.join(wrong)})",
                    m.source,
                )
            )
    bad = plan.indicators[~plan.indicators.measure.isin(MEASURES) | ~plan.indicators.aggregation.isin(AGGREGATIONS)]
    found += [
        _error(
            f"Chỉ số {i.code}: loại đo lường hoặc cách cộng dồn không hợp lệ ({i.measure}, {i.aggregation})",
            f"Indicator {i.code}: invalid measure or aggregation ({i.measure}, {i.aggregation})",
            plan.path.name,
        )
        for i in bad.itertuples()
    ]
    return found


def _check_allocation(plan: Plan) -> list[Finding]:
    found = []
    sums = plan.allocation.groupby("indicator", sort=False).target.sum()
    for total in plan.allocation_totals.itertuples():
        allocated = sums.get(total.indicator, 0)
        if allocated != total.target:
            found.append(
                _error(
                    f"Phân bổ cho các huyện của chỉ tiêu {total.indicator} cộng lại bằng {allocated}, khác tổng {total.target}",
                    f"District allocations of {total.indicator} add up to {allocated}, not the total {total.target}",
                    total.source,
                )
            )
    duplicated = plan.allocation[plan.allocation.duplicated(["indicator", "unit"])]
    found += [
        _error(f"Huyện {d.unit} có hai dòng phân bổ", f"District {d.unit} has two allocation rows", d.source)
        for d in duplicated.drop_duplicates("unit").itertuples()
    ]
    return found


def _check_timelines(plan: Plan) -> list[Finding]:
    start, end = plan.phase
    found = []
    province_rows = plan.targets[plan.targets.unit == plan.province]
    for t in province_rows.itertuples():
        if t.start is None or t.complete is None or pd.isna(t.start) or pd.isna(t.complete):
            found.append(
                _error(
                    f"Chỉ tiêu {t.indicator} không có thời gian thực hiện",
                    f"Target {t.indicator} has no timeline",
                    t.source,
                )
            )
        elif not (start <= t.start <= t.complete <= end):
            found.append(
                _error(
                    f"Thời gian của chỉ tiêu {t.indicator} ({t.start} – {t.complete}) nằm ngoài giai đoạn {start} – {end}",
                    f"Timeline of {t.indicator} ({t.start} to {t.complete}) falls outside the phase {start} to {end}",
                    t.timeline_source,
                )
            )
    outside = plan.occurrences[plan.occurrences.year.gt(end.year) | plan.occurrences.year.lt(start.year)]
    found += [
        _error(
            f"Mốc {o.milestone} đến hạn năm {o.year}, ngoài giai đoạn",
            f"Milestone {o.milestone} is due in {o.year}, outside the phase",
            plan.path.name,
        )
        for o in outside.itertuples()
    ]
    late = plan.rounds[plan.rounds.year.gt(end.year) | plan.rounds.year.lt(start.year)]
    found += [
        _error(
            f"Kỳ báo cáo {r.period} nằm ngoài giai đoạn",
            f"Reporting round {r.period} falls outside the phase",
            r.source,
        )
        for r in late.itertuples()
    ]
    return found


def _check_units(plan: Plan) -> list[Finding]:
    units = plan.units()
    if units is None:
        return []
    found = []
    for d in plan.allocation[["unit", "name"]].drop_duplicates().itertuples():
        try:
            code = units.resolve(d.name, level=plan.unit_level)
        except UnitError as exc:
            found.append(_error(exc.message_vi, exc.message_en, plan.allocation_totals.source.iloc[0]))
            continue
        if code != d.unit:
            found.append(
                _error(
                    f"Đơn vị «{d.name}» có mã {code}, không phải {d.unit}",
                    f"Unit '{d.name}' has code {code}, not {d.unit}",
                    plan.path.name,
                )
            )
    return found


def _check_values(plan: Plan) -> list[Finding]:
    kinds = plan.indicators.set_index("code").measure
    found = []
    for t in plan.targets.itertuples():
        bad_percent = kinds.get(t.indicator) == "percent" and not 0 <= t.target <= 100
        if t.target < 0 or bad_percent:
            found.append(
                _error(
                    f"Giá trị chỉ tiêu {t.indicator} không hợp lệ: {t.target}",
                    f"Invalid target value for {t.indicator}: {t.target}",
                    t.source,
                )
            )
    return found


def _contradictions(plan: Plan) -> list[Finding]:
    """Targets that the plan states with different values in different places."""
    totals = plan.allocation_totals.assign(text="")[["indicator", "target", "source", "text"]].rename(
        columns={"target": "value"}
    )
    statements = pd.concat([plan.statements, totals], ignore_index=True)
    names = plan.indicators.set_index("code")
    found = []
    for indicator, group in statements.groupby("indicator", sort=False):
        if group.value.nunique() < 2:
            continue
        listed = "; ".join(f"{v:g} ({s})" for v, s in zip(group.value, group.source))
        found.append(
            Finding(
                "warning",
                f"Kế hoạch nêu chỉ tiêu {indicator} ({names.name_vi.get(indicator, '')}) với các giá trị khác nhau: {listed}",
                f"The plan states target {indicator} ({names.name_en.get(indicator, '')}) with different values: {listed}",
                "; ".join(group.source),
            )
        )
    return found


def _ambiguities(plan: Plan) -> list[Finding]:
    """Targets the plan's words allow to read two ways: each reading with its source,
    and the one the plan file chose (``readings.chosen``)."""
    found = []
    names = plan.indicators.set_index("code")
    for indicator, group in plan.readings.groupby("indicator", sort=False):
        readings = list(group.itertuples())
        listed_vi = "; ".join(f"({k}) {r.target:g} («{r.text}», {r.source})" for k, r in enumerate(readings, 1))
        listed_en = "; ".join(f"({k}) {r.target:g} ({r.en}, {r.source})" for k, r in enumerate(readings, 1))
        chosen = next(k for k, r in enumerate(readings, 1) if r.chosen)
        found.append(
            Finding(
                "warning",
                f"Chỉ tiêu {indicator} ({names.name_vi.get(indicator, '')}) có thể hiểu theo hai cách: {listed_vi}. "
                f"Tiến độ được tính theo cách hiểu ({chosen})",
                f"Target {indicator} ({names.name_en.get(indicator, '')}) can be read two ways: {listed_en}. "
                f"Progress follows reading ({chosen})",
                "; ".join(group.source),
                hint=f"readings.chosen: {readings[chosen - 1].reading} ({', '.join(r.reading for r in readings)})",
            )
        )
    return found


@lru_cache(maxsize=8)
def _units_in(directory: str) -> Units:
    return load_units(directory)

"""What the synthetic districts send: each round's report counted from the registers,
written as the Excel form of ``d8 template`` or as a long table, on the dates a
district sends it (some late, some never)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

from d8demo.registers import FLOWS
from d8lib.intake.forms import DONE, NOT_DONE, fill, unit_milestones, write_template
from d8lib.plan.model import Plan

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def data_date(period: str) -> tuple[dt.date, dt.date]:
    """First and last day a round's figures cover: to 31/8 for the 10/9 report, the
    whole year for the 25/01 update."""
    year = int(period[:4])
    return dt.date(year, 1, 1), dt.date(year, 12, 31) if period.endswith("final") else dt.date(year, 8, 31)


def district_report(tables: dict[str, pd.DataFrame], district: str, period: str) -> dict[str, dict]:
    """What a district's registers say for one round, as form cells per indicator."""
    first, last = (d.isoformat() for d in data_date(period))
    report: dict[str, dict] = {}

    def upto(table, column="established"):
        return table[(table.district == district) & table[column].notna() & (table[column] <= last)]

    teams = upto(tables["teams"])
    if len(teams):
        report["O1"] = dict(
            value=len(teams),
            people=int(teams.members_female.sum() + teams.members_male.sum()),
            female=int(teams.members_female.sum()),
            male=int(teams.members_male.sum()),
            ethnic_minority=int(teams.members_ethnic_minority.sum()),
        )
        report["O1.2"] = dict(value=int((teams.digital_since.notna() & (teams.digital_since <= last)).sum()))
        quarter = str(pd.Period(last, "Q") - 1)
        events = tables["team_events"]
        active = events[(events.quarter == quarter) & (events.events > 0) & events.team.isin(teams.id)]
        report["O1.3"] = dict(numerator=len(active), denominator=len(teams))
    broadcasts = tables["commune_broadcasts"][tables["commune_broadcasts"].district == district]
    report["O1.4"] = dict(
        numerator=int((broadcasts.broadcasting_since.notna() & (broadcasts.broadcasting_since <= last)).sum()),
        denominator=len(broadcasts),
    )
    groups = upto(tables["savings_groups"])
    if len(groups):
        roster = tables["savings_members"][tables["savings_members"].group.isin(groups.id)]
        female = int((roster.sex == "F").sum())
        report["O2"] = dict(
            value=len(groups),
            people=len(roster),
            female=female,
            male=len(roster) - female,
            ethnic_minority=int(roster.ethnic_minority.sum()),
        )
        report["O3"] = dict(value=int((groups.gals_since.notna() & (groups.gals_since <= last)).sum()))
        for code, column in (("O4", "linked_finance_on"), ("O5", "livelihood_support_on")):
            report[code] = dict(
                numerator=int((roster[column].notna() & (roster[column] <= last)).sum()), denominator=len(roster)
            )
    for code, name in (("O6", "livelihood_groups"), ("O7", "trusted_addresses")):
        stock = upto(tables[name])
        if len(stock):
            report[code] = dict(value=len(stock))
    addresses = upto(tables["trusted_addresses"])
    if len(addresses):
        trained = addresses.owner_trained_on.notna() & (addresses.owner_trained_on <= last)
        report["O7.1"] = dict(numerator=int(trained.sum()), denominator=len(addresses))
    clubs = upto(tables["clubs"])
    if len(clubs):
        report["O9"] = dict(
            value=len(clubs),
            people=int(clubs.girls.sum() + clubs.boys.sum()),
            female=int(clubs.girls.sum()),
            male=int(clubs.boys.sum()),
            ethnic_minority=int(clubs.ethnic_minority.sum()),
        )
    activities = tables["activities"]
    done = activities[(activities.district == district) & (activities.date >= first) & (activities.date <= last)]
    for code, part in done.groupby("indicator"):
        people = int(part.participants_female.sum() + part.participants_male.sum())
        report[code] = dict(
            value=people if code == "O10" else len(part),
            people=people,
            female=int(part.participants_female.sum()),
            male=int(part.participants_male.sum()),
            ethnic_minority=int(part.participants_ethnic_minority.sum()),
        )
    return report


def milestone_answers(plan: Plan, settings: dict, rng) -> pd.DataFrame:
    """Whether and when each reporting unit does each of its milestone occurrences."""
    config = settings["milestones"]
    rows = []
    for unit in plan.reporting_units().unit:
        for m in plan.milestones_of(unit).itertuples():
            done = rng.random() < config["done"]
            late = int(rng.integers(1, config["late_days"] + 1)) if rng.random() < config["late"] else 0
            early = int(rng.integers(0, 60))
            day = m.due + dt.timedelta(days=late if late else -early)
            rows.append(dict(district=unit, key=m.key, done=done, done_on=day if done else None))
    return pd.DataFrame(rows)


def milestone_report(
    plan: Plan, tables: dict, answers: pd.DataFrame, settings: dict, district: str, period: str
) -> dict[str, dict]:
    """The milestone cells of a district's form for one round: done (with the date) by the
    round's data date, not done once due, blank before. The survivors' support is done
    in a year where the register shows trafficking survivors supported, with their
    numbers (all women)."""
    last = data_date(period)[1]
    mine = answers[answers.district == district].set_index("key")
    survivors = tables["survivors"]
    survivors = survivors[(survivors.district == district) & (survivors.kind == "trafficking")]
    report = {}
    for m in unit_milestones(plan, district, period).itertuples():
        if m.counts == "survivors":
            days = pd.to_datetime(survivors.supported_on).dt.date
            part = survivors[(days >= dt.date(m.year, 1, 1)) & (days <= min(last, dt.date(m.year, 12, 31)))]
            done_on = min(pd.to_datetime(part.supported_on).dt.date) if len(part) else None
            people = len(part)
            minority = int((part.ethnicity != settings["majority_group"]).sum())
            counts = dict(people=people, female=people, male=0, ethnic_minority=minority)
        else:
            answer = mine.loc[m.key]
            done_on, counts = (answer.done_on if answer.done else None), {}
        if done_on is not None and done_on <= last:
            report[m.key] = dict(value=DONE, done_on=done_on, **counts)
        elif m.due <= last:
            report[m.key] = dict(value=NOT_DONE)
    return report


def area_report(
    plan: Plan, tables: dict, answers: pd.DataFrame, settings: dict, unit: str, communes: set | None, period: str
) -> dict[str, dict]:
    """What a reporting unit's registers say for one round: a district's, or (with the old
    ``communes`` it was formed from) a new commune's: indicators, priority groups, milestones."""
    if communes is not None:
        tables = {
            name: table[table.commune.isin(communes)].assign(district=unit) if "commune" in table else table
            for name, table in tables.items()
        }
    report = district_report(tables, unit, period)
    report |= priority_report(tables, report, settings, unit, period)
    return report | milestone_report(plan, tables, answers, settings, unit, period)


def by_commune(plan: Plan, tables: dict, report: dict, district: str, period: str) -> dict:
    """A district report whose indicators are given commune by commune (keys (code, commune
    name)); priority groups and milestones stay the district's."""
    communes = plan.units().at_level("commune")
    indicators = set(plan.indicators.code)
    split = {code: cells for code, cells in report.items() if code not in indicators}
    for c in communes[communes.parent_code == district].itertuples():
        part = {name: table[table.commune == c.code] if "commune" in table else table for name, table in tables.items()}
        for code, cells in district_report(part, district, period).items():
            split[code, c.name] = cells
    return split


def priority_report(tables: dict, report: dict[str, dict], settings: dict, district: str, period: str) -> dict:
    """Persons reached from each priority group in the round's year: shares of the
    persons the year's activities reached, and the survivors supported from the register."""
    first, last = data_date(period)
    reached = sum(cells.get("people", 0) for code, cells in report.items() if code in FLOWS)
    counts = {code: dict(value=int(round(share * reached))) for code, share in settings["priority_shares"].items()}
    survivors = tables["survivors"]
    days = pd.to_datetime(survivors.supported_on).dt.date
    counts["P3"] = dict(value=int(((survivors.district == district) & (days >= first) & (days <= last)).sum()))
    return dict(sorted(counts.items()))


def freeze_xlsx(path: Path) -> None:
    """Make an .xlsx byte-for-byte reproducible: fixed times in the zip and in docProps."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2020-01-01T00:00:00Z", data)
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def _long_rows(report: dict, district_name: str, period: str, sent: dt.date) -> list[dict]:
    """The rows of a long table; a key (code, commune name) gives a commune's row."""
    by_commune = any(isinstance(key, tuple) for key in report)
    rows = []
    for key, cells in report.items():
        code, commune = key if isinstance(key, tuple) else (key, None)
        rows.append(
            {
                "Huyện": district_name,
                **({"Xã": commune} if by_commune else {}),
                "Kỳ báo cáo": period,
                "Mã chỉ số": code,
                "Kết quả": cells.get("value"),
                "Tử số": cells.get("numerator"),
                "Mẫu số": cells.get("denominator"),
                "Số người": cells.get("people"),
                "Nữ": cells.get("female"),
                "Nam": cells.get("male"),
                "DTTS": cells.get("ethnic_minority"),
                "Ngày thực hiện": cells["done_on"].strftime("%d/%m/%Y") if cells.get("done_on") else None,
                "Ngày gửi": sent.strftime("%d/%m/%Y") if not rows else None,
            }
        )
    return rows


def write_submission(
    plan: Plan,
    report: dict[str, dict],
    district: str,
    period: str,
    sent: dt.date,
    style: dict,
    folder: Path,
    suffix: str = "",
) -> Path:
    """Write one district report in the district's habitual format (form, CSV or XLSX table)."""
    name = f"{district}-{period}{suffix}"
    if style["format"] == "form":
        path = write_template(plan, district, period, folder / f"{name}.xlsx")
        keys = set(plan.occurrences.key)
        indicators = {code: cells for code, cells in report.items() if code not in keys}
        milestones = {code: cells for code, cells in report.items() if code in keys}
        fill(path, indicators, sent.strftime("%d/%m/%Y"), milestones)
        freeze_xlsx(path)
        return path
    rows = pd.DataFrame(_long_rows(report, style["spelling"], period, sent))
    if style["format"] == "csv":
        path = folder / f"{name}.csv"
        rows.to_csv(path, index=False, lineterminator="\n", float_format="%.0f")
        return path
    from openpyxl import Workbook

    path = folder / f"{name}.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Số liệu"
    sheet.append(list(rows.columns))
    for values in rows.itertuples(index=False):
        sheet.append([None if pd.isna(v) else (int(v) if isinstance(v, float) else v) for v in values])
    workbook.save(path)
    freeze_xlsx(path)
    return path


def _sent_dates(plan: Plan, settings: dict, rng) -> dict[tuple[str, str], dt.date | None]:
    """When each district sent each round: mostly a few days early, some late, one never."""
    config = settings["submissions"]
    cutoff = dt.date.fromisoformat(str(config["registers_until"]))
    dates = {}
    for district in plan.districts.unit:
        for r in plan.rounds.itertuples():
            if data_date(r.period)[1] > cutoff:
                continue
            key = f"{district}-{r.period}"
            late = config["late"].get(key, config["late"].get(district))
            offset = int(rng.integers(late[0], late[1] + 1)) if late else -int(rng.integers(*config["days_early"]))
            dates[district, r.period] = None if key in config["missing"] else r.deadline + dt.timedelta(days=offset)
    return dates


def submissions(plan: Plan, tables: dict, settings: dict, rng, folder: Path, answers: pd.DataFrame) -> pd.DataFrame:
    """Write every district report as the district sends it; return the inbox in the
    order the files came, with what intake must say of each (file, sent_on, status,
    problem)."""
    import unicodedata

    config = settings["submissions"]
    folder.mkdir(parents=True, exist_ok=True)
    expected = []
    names = dict(zip(plan.districts.unit, plan.districts.name))
    deadlines = plan.rounds.set_index("period").deadline
    crosswalk = plan.units().crosswalk
    new_communes = {  # the new communes formed (wholly or in part) from each district, with their old communes
        d: {
            c: set(crosswalk.old_code[crosswalk.new_code == c])
            for c in crosswalk.new_code[crosswalk.old_district_code == d]
        }
        for d in config["by_new_commune"]
    }
    written = set()
    for (district, period), sent in sorted(
        _sent_dates(plan, settings, rng).items(), key=lambda kv: (kv[0][1], kv[0][0])
    ):
        if sent is None:
            continue
        style = dict(config["styles"][district])
        spelling = style.get("spelling", names[district])
        style["spelling"] = unicodedata.normalize("NFD", spelling) if style.get("decomposed") else spelling
        if district in config["by_new_commune"] and plan.reform_date and deadlines[period] >= plan.reform_date:
            for commune, old in new_communes[district].items():
                if (commune, period) not in written:
                    written.add((commune, period))
                    path = write_submission(
                        plan,
                        area_report(plan, tables, answers, settings, commune, old, period),
                        commune,
                        period,
                        sent,
                        {"format": "form"},
                        folder,
                    )
                    expected.append(dict(file=path.name, sent_on=sent, status="accepted", problem=""))
            continue
        report = area_report(plan, tables, answers, settings, district, None, period)
        if style.get("by_commune"):
            report = by_commune(plan, tables, report, district, period)
        resend, broken = config["resubmission"], config["rejected"]
        if (district, period) == (broken["district"], broken["period"]):
            faulty = {k: dict(v) for k, v in report.items()}
            faulty[broken["indicator"]][broken["break"]] += 1
            path = write_submission(plan, faulty, district, period, sent, style, folder, "-loi")
            expected.append(dict(file=path.name, sent_on=sent, status="rejected", problem="sexes_do_not_add_up"))
            sent = sent + dt.timedelta(days=broken["days_after"])
        if (district, period) == (resend["district"], resend["period"]):
            first = {k: dict(v) for k, v in report.items()}
            first[resend["indicator"]]["value"] += resend["first_value_change"]
            path = write_submission(plan, first, district, period, sent, style, folder, "-lan-1")
            expected.append(dict(file=path.name, sent_on=sent, status="accepted", problem=""))
            sent = sent + dt.timedelta(days=resend["days_after"])
            path = write_submission(plan, report, district, period, sent, style, folder, "-lan-2")
        else:
            path = write_submission(plan, report, district, period, sent, style, folder)
        expected.append(dict(file=path.name, sent_on=sent, status="accepted", problem=""))
    cutoff = dt.date.fromisoformat(str(config["registers_until"]))
    for r in plan.rounds[plan.rounds["round"] == "final"].itertuples():
        if data_date(r.period)[1] <= cutoff:
            sent = r.deadline - dt.timedelta(days=config["province_days_early"])
            report = province_report(plan, tables, answers, settings, r.period)
            path = write_submission(plan, report, plan.province, r.period, sent, {"format": "form"}, folder)
            expected.append(dict(file=path.name, sent_on=sent, status="accepted", problem=""))
    return pd.DataFrame(expected).sort_values(["sent_on", "file"], kind="stable", ignore_index=True)


def province_report(plan: Plan, tables: dict, answers: pd.DataFrame, settings: dict, period: str) -> dict:
    """What the province reports of its own work in a year's update: the programme on
    provincial radio and television (O1.5, from the first year), the regional and central
    workshops (O13, in the years the plan names) and its milestones."""
    year = int(period[:4])
    own = settings["province_own"]
    report = {"O1.5": dict(value=int(year >= own["programme_from"]))}
    if year in own["workshops_in"]:
        report["O13"] = dict(value=1)
    return report | milestone_report(plan, tables, answers, settings, plan.province, period)

"""The synthetic province's registers: what its communication teams, savings groups,
trusted addresses and clubs did, person by person and activity by activity, from which
the district reports are counted."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from d8demo.draws import allocate
from d8lib.plan.model import Plan

STOCKS = {"O1": "teams", "O2": "savings_groups", "O6": "livelihood_groups", "O7": "trusted_addresses", "O9": "clubs"}
FLOWS = ["O1.1", "O2.1", "O8", "O8.1", "O9.1", "O10", "O11", "O12.2", "O12.3"]


def _dates(n: int, start: dt.date, end: dt.date, rng) -> list[dt.date]:
    days = max((end - start).days, 1)
    return sorted(start + dt.timedelta(days=int(d)) for d in rng.integers(0, days + 1, n))


def district_targets(plan: Plan) -> pd.DataFrame:
    """Each district's target of every indicator it reports; the province's where the plan
    allocates none is split in proportion to the communication-team targets."""
    allocated = plan.targets[plan.targets.unit != plan.province]
    weights = allocated[allocated.indicator == allocated.indicator.iloc[0]].set_index("unit").target
    rows = [allocated[["indicator", "unit", "target", "start", "complete"]]]
    province = plan.targets[plan.targets.unit == plan.province].set_index("indicator")
    counts = plan.indicators[(plan.indicators.measure == "count") & (plan.indicators.reported_by == "district")]
    for code in counts.code:
        if code in set(allocated.indicator):
            continue
        split = allocate(int(province.target[code]), weights)
        rows.append(
            pd.DataFrame(
                {
                    "indicator": code,
                    "unit": split.index,
                    "target": split.to_numpy(),
                    "start": province.start[code],
                    "complete": province.complete[code],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def registers(plan: Plan, frame: pd.DataFrame, settings: dict, rng, cutoff: dt.date) -> dict[str, pd.DataFrame]:
    """Registers of what each district set up and held, paced by the settings: some
    districts run ahead of the plan's timelines, some lag."""
    pace = settings["district_pace"]
    targets = district_targets(plan)
    villages_by_district = {d: g for d, g in frame[frame.zone != "none"].groupby("district")}
    out: dict[str, list] = {name: [] for name in list(STOCKS.values()) + ["activities"]}
    for t in targets.itertuples():
        p = pace[t.unit]
        n = int(round(t.target * p["reach"]))
        shift = dt.timedelta(days=30 * p["delay"])
        start, end = t.start + shift, min(t.complete + shift, dt.date(2025, 12, 31))
        when = [d for d in _dates(n, start, end, rng) if d <= cutoff]
        places = villages_by_district[t.unit].sample(len(when), replace=True, random_state=rng)
        if t.indicator in STOCKS:
            kind = STOCKS[t.indicator]
            for k, (date, place) in enumerate(zip(when, places.itertuples())):
                out[kind].append(
                    dict(
                        id=f"{t.unit}-{t.indicator}-{k + 1:03d}",
                        district=t.unit,
                        commune=place.commune,
                        village=place.village,
                        established=date,
                    )
                )
        elif t.indicator in FLOWS:
            for k, (date, place) in enumerate(zip(when, places.itertuples())):
                size = int(rng.integers(15, 60)) if t.indicator != "O10" else 1
                female = size if t.indicator == "O10" else int(rng.binomial(size, 0.62))
                out["activities"].append(
                    dict(
                        id=f"{t.unit}-{t.indicator}-{k + 1:03d}",
                        indicator=t.indicator,
                        district=t.unit,
                        commune=place.commune,
                        date=date,
                        participants_female=female,
                        participants_male=size - female,
                        participants_ethnic_minority=int(rng.binomial(size, 0.85)),
                    )
                )
    tables = {name: pd.DataFrame(rows) for name, rows in out.items()}
    teams = tables["teams"]
    members = rng.integers(8, 16, len(teams))
    teams["members_female"] = [int(rng.binomial(m, 0.6)) for m in members]
    teams["members_male"] = members - teams.members_female
    teams["members_ethnic_minority"] = [int(rng.binomial(m, 0.9)) for m in members]
    teams["digital_since"] = [
        d + dt.timedelta(days=int(rng.integers(30, 400))) if rng.random() < 0.8 else None for d in teams.established
    ]
    quarters = pd.period_range("2022Q1", pd.Period(cutoff, "Q"), freq="Q")
    events = [
        dict(team=t.id, quarter=str(q), events=int(rng.poisson(1.4)))
        for t in teams.itertuples()
        for q in quarters
        if q.start_time.date() >= t.established
    ]
    tables["team_events"] = pd.DataFrame(events)
    groups = tables["savings_groups"]
    gals_share = {
        d: targets.set_index(["indicator", "unit"]).target.get(("O3", d), 0) for d in groups.district.unique()
    }
    groups["gals_since"] = None
    for district, part in groups.groupby("district"):
        chosen = part.index[: int(round(gals_share[district] * pace[district]["reach"]))]
        groups.loc[chosen, "gals_since"] = [
            d + dt.timedelta(days=int(rng.integers(60, 300))) for d in part.established[chosen]
        ]
    roster = []
    for g in groups.itertuples():
        for k in range(int(rng.integers(15, 31))):
            linked = g.established + dt.timedelta(days=int(rng.integers(90, 700))) if rng.random() < 0.17 else None
            supported = g.established + dt.timedelta(days=int(rng.integers(90, 700))) if rng.random() < 0.14 else None
            roster.append(
                dict(
                    member=f"{g.id}-{k + 1:02d}",
                    group=g.id,
                    sex="F" if rng.random() < 0.85 else "M",
                    ethnic_minority=int(rng.random() < 0.88),
                    linked_finance_on=linked,
                    livelihood_support_on=supported,
                )
            )
    tables["savings_members"] = pd.DataFrame(roster)
    addresses = tables["trusted_addresses"]
    addresses["kind"] = rng.choice(["new", "consolidated"], len(addresses), p=[0.4, 0.6])
    addresses["owner_trained_on"] = [
        d + dt.timedelta(days=int(rng.integers(20, 500))) if rng.random() < 0.9 else None for d in addresses.established
    ]
    tables["trusted_address_cases"] = pd.DataFrame(
        [
            dict(address=a.id, year=y, cases=int(rng.poisson(3)))
            for a in addresses.itertuples()
            for y in range(a.established.year, cutoff.year + 1)
        ]
    )
    clubs = tables["clubs"]
    clubs["setting"] = rng.choice(["school", "community"], len(clubs), p=[0.7, 0.3])
    clubs["girls"] = rng.integers(10, 25, len(clubs))
    clubs["boys"] = rng.integers(3, 12, len(clubs))
    clubs["ethnic_minority"] = [int(rng.binomial(g + b, 0.9)) for g, b in zip(clubs.girls, clubs.boys)]
    communes = frame.drop_duplicates("commune")[["commune", "district", "zone"]]
    tables["commune_broadcasts"] = (
        communes.assign(
            broadcasting_since=[
                dt.date(2022, 1, 1) + dt.timedelta(days=int(rng.integers(0, 900))) if z != "none" else None
                for z in communes.zone
            ]
        )
        .drop(columns="zone")
        .reset_index(drop=True)
    )
    tables["survivors"] = _survivors(frame, settings, rng, cutoff)
    for table in tables.values():
        for column in table.columns:
            if table[column].map(lambda v: isinstance(v, dt.date)).any():
                table[column] = table[column].map(lambda v: v.isoformat() if isinstance(v, dt.date) else None)
    return tables


def _survivors(frame: pd.DataFrame, settings: dict, rng, cutoff: dt.date) -> pd.DataFrame:
    """Survivors of trafficking and violence supported (sensitive: names and phones)."""
    places = frame[frame.zone.isin(["II", "III"])].sample(settings["survivors"], replace=True, random_state=rng)
    names = settings["names"]
    rows = []
    for k, place in enumerate(places.itertuples()):
        shares = settings["survivor_ethnic_shares"]
        ethnicity = rng.choice(list(shares), p=list(shares.values()))
        family = rng.choice(names["family"].get(str(ethnicity), names["family"]["other"]))
        rows.append(
            dict(
                id=f"S{k + 1:04d}",
                full_name=f"{family} Thị {rng.choice(names['given'])}",
                phone="09" + f"{int(rng.integers(0, 10**8)):08d}",
                birth_year=int(rng.integers(1985, 2008)),
                ethnicity=ethnicity,
                district=place.district,
                commune=place.commune,
                kind=rng.choice(["trafficking", "domestic_violence", "sexual_abuse"], p=[0.3, 0.6, 0.1]),
                support=rng.choice(["tkvvtb", "livelihood", "vocational_training"]),
                supported_on=dt.date(2023, 1, 1)
                + dt.timedelta(days=int(rng.integers(0, (cutoff - dt.date(2023, 1, 1)).days))),
            )
        )
    return pd.DataFrame(rows)

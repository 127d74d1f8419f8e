"""The deterministic synthetic dataset of Project 8 in a province: villages, registers,
district submissions, surveys of women 15-49 and the truth they were drawn from.

``generate(out, seed, scale)`` writes the dataset; the same seed gives the same bytes.
Everything is drawn from the plan and the unit tables, so another province's files
give another province's dataset. The numbers that shape it (baseline levels by
ethnic group, true effects, sample sizes) are in ``data/synth.yaml``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core.paths import DATA_DIR
from d8lib.intake.forms import DONE, NOT_DONE, fill, unit_milestones, write_template
from d8lib.plan.model import Plan, load_plan
from d8lib.survey.outcomes import age_group, age_group_spec
from d8lib.units.registry import Units

DEFAULT_SETTINGS = DATA_DIR / "synth.yaml"
FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
CODEBOOK_HEADER = """\
# The codebook of the demo's survey files (written by d8 synth): which columns d8
# reads and how. Columns not named here, the personal ones first, are never read.
"""
VILLAGES_PROVENANCE = """\
# What villages.csv holds and where it comes from. The province keeps this file with
# the register: one row per village, with the priority areas of Plan 355 (Mục II,
# đoạn 3).
synthetic: true
maintained_by: "d8 synth (dữ liệu mô phỏng / synthetic demo data)"
as_of: 2022-01-01
columns:
  zone: {vi: "Khu vực của xã (I, II, III; none: ngoài vùng DTTS)", en: "Area of the commune (I, II, III; none: outside the ethnic-minority area)",
         source: "Quyết định 861/QĐ-TTg ngày 04/6/2021 (mô phỏng / simulated)"}
  extremely_difficult: {vi: "Thôn đặc biệt khó khăn (1 = có)", en: "Extremely difficult village (1 = yes)",
                        source: "Quyết định 612/QĐ-UBDT ngày 16/9/2021 (mô phỏng / simulated)"}
  border: {vi: "Xã biên giới (1 = có)", en: "Border commune (1 = yes)", source: "mô phỏng / simulated"}
  project: {vi: "Thôn dự án lúc đầu kỳ (1 = có)", en: "Project village at baseline (1 = yes)", source: "mô phỏng / simulated"}
"""
CALIBRATION_HEADER = """\
# Calibration of the survey weights (written by d8 synth from data/synth.yaml): after
# the nonresponse adjustment within villages, each round's weights are calibrated to
# the women 15-49 of its population (population.csv) on the margins listed. Cells of
# fewer than minimum_cell women interviewed are merged into their group's "other".
"""


def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream for each named part, so that one part can change
    without moving the others and no two parts share their draws."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _logistic(x):
    return 1 / (1 + np.exp(-x))


def _logit(p):
    return np.log(p / (1 - p))


# --- villages ---------------------------------------------------------------------------


def villages(units: Units, settings: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Villages of every commune with the commune's zone, ethnic make-up and project status.

    Zones follow the counts of the settings: the non-minority communes are the urban
    wards and towns named there, Zone III the most remote of the rest.
    """
    communes = units.at_level("commune").rename(columns={"code": "commune", "parent_code": "district"})
    z = settings["zones"]
    urban = communes.kind.isin(["phường", "thị trấn"])
    remoteness = communes.district.map(settings["district_remoteness"]).astype(float) + rng.random(len(communes))
    order = remoteness.where(~urban, -1).sort_values(ascending=False).index
    zone = pd.Series("I", index=communes.index)
    zone.loc[order[: z["zone_III"]]] = "III"
    zone.loc[order[z["zone_III"] : z["zone_III"] + z["zone_II"]]] = "II"
    zone.loc[order[-z["not_minority_area"] :]] = "none"
    communes["zone"] = zone
    border = settings["border_communes"]
    ranked = remoteness.groupby(communes.district).rank(ascending=False, method="first")
    communes["border"] = (ranked <= communes.district.map(border).fillna(0)).astype(int)
    cross = units.crosswalk.set_index("old_code")
    rows = []
    for c in communes.itertuples():
        count = int(rng.integers(5, 9) if c.zone == "none" else rng.integers(8, 15))
        for k in range(count):
            rows.append(
                dict(
                    village=f"{c.commune}-{k + 1:02d}",
                    village_name=f"Thôn {k + 1}",
                    commune=c.commune,
                    commune_name=c.name,
                    district=c.district,
                    commune_2025=cross.new_code[c.commune],
                    commune_2025_name=cross.new_name[c.commune],
                    zone=c.zone,
                    border=c.border,
                )
            )
    frame = pd.DataFrame(rows)
    shares = settings["ethnic_shares"]
    groups = list(next(iter(shares.values())))
    mix = np.stack([rng.dirichlet(50 * np.array([shares[d][g] for g in groups]) + 0.05) for d in frame.district])
    for k, g in enumerate(groups):
        frame[f"share_{g}"] = mix[:, k].round(4)
    frame["women"] = np.where(frame.zone == "none", 0, rng.integers(60, 240, len(frame)))
    difficult = frame.zone.eq("III") | (frame.zone.eq("II") & (rng.random(len(frame)) < 0.5))
    frame["extremely_difficult"] = difficult.astype(int)
    frame["project"] = (difficult & (rng.random(len(frame)) < settings["project_share"])).astype(int)
    # Village effects: a part shared by every outcome and a part of each outcome's own.
    shared = rng.normal(0, 1, len(frame))
    share = settings["village_shared"]
    for code in settings["outcomes"]:
        own = rng.normal(0, 1, len(frame))
        effect = settings["village_sd"] * (np.sqrt(share) * shared + np.sqrt(1 - share) * own)
        frame[f"effect_{code}"] = np.where(frame.zone == "none", 0, effect).round(4)
    return frame


# --- survey ----------------------------------------------------------------------------


def _ethnicity(frame: pd.DataFrame, groups: list[str], rng) -> np.ndarray:
    shares = frame[[f"share_{g}" for g in groups]].to_numpy()
    shares = shares / shares.sum(axis=1, keepdims=True)
    draws = rng.random(len(frame))[:, None] > np.cumsum(shares, axis=1)
    return np.array(groups)[np.minimum(draws.sum(axis=1), len(groups) - 1)]


def population(
    frame: pd.DataFrame, round_name: str, settings: dict, rng: np.random.Generator, multiplier: int = 1
) -> pd.DataFrame:
    """Every woman 15-49 of the given villages in one round, with her answers.

    Each answer follows a logistic model: the indicator's baseline level for her
    ethnic group, the village effect, the round's trend for everyone and, in project
    villages, the true effect (half of it at midterm).
    """
    groups = list(settings["ethnic_shares"][next(iter(settings["ethnic_shares"]))])
    sizes = frame.women.to_numpy() * multiplier
    effects = [f"effect_{code}" for code in settings["outcomes"]]
    women = frame.loc[
        frame.index.repeat(sizes),
        ["village", "commune", "commune_2025", "district", "project", *effects, *[f"share_{g}" for g in groups]],
    ]
    women = women.reset_index(drop=True)
    n = len(women)
    women["ethnicity"] = _ethnicity(women, groups, rng)
    women = women.drop(columns=[f"share_{g}" for g in groups])
    women["age"] = rng.integers(15, 50, n)
    # Households of one to three eligible women, numbered within each village.
    new_household = rng.random(n) < 0.6
    new_household[np.r_[True, women.village.to_numpy()[1:] != women.village.to_numpy()[:-1]]] = True
    women["household_seq"] = (
        pd.Series(new_household.cumsum()).groupby(women.village).transform(lambda s: s - s.min() + 1)
    )
    progress = settings["effect_reached"][round_name]
    trend = settings["trend_per_round"][round_name]
    models = settings["outcomes"]

    def answer(code: str, universe: np.ndarray | None = None) -> np.ndarray:
        m = models[code]
        levels = {e: m["baseline"].get(e, m["baseline"]["other"]) for e in groups}
        level = _logit(women.ethnicity.map(levels).to_numpy(dtype=float))
        x = level + women[f"effect_{code}"].to_numpy() * m.get("village_weight", 1.0) + trend * m["trend"]
        x = x + women.project.to_numpy() * progress * m["effect"]
        draw = rng.random(n) < _logistic(x)
        return draw if universe is None else draw & universe

    age = women.age.to_numpy()
    partnered = rng.random(n) < _logistic(
        -6 + 0.35 * age + np.where(women.ethnicity == settings["majority_group"], -1.0, 0.6)
    )
    women["ever_partnered"] = partnered.astype(int)
    in_union = partnered & (rng.random(n) < 0.9)
    women["marital_status"] = np.where(
        ~partnered,
        "never",
        np.where(
            in_union,
            np.where(rng.random(n) < 0.93, "married", "cohabiting"),
            rng.choice(["divorced", "separated", "widowed"], n),
        ),
    )
    child = answer("H3", partnered) | (partnered & (age < 18))
    first_union = np.where(child, rng.uniform(14, 17.99, n), rng.uniform(18, 30, n))
    women["age_first_union"] = np.where(partnered, np.minimum(first_union, age).round(0), np.nan)
    women.loc[partnered & (women.age_first_union >= 18) & child, "age_first_union"] = 17
    birth = partnered & (rng.random(n) < np.where((age >= 20) & (age <= 34), 0.42, 0.15))
    women["birth_2y"] = birth.astype(int)
    home = answer("H1", birth)
    women["birth_place"] = np.where(birth, np.where(home, "home", "facility"), None)
    anc4 = answer("H2", birth)
    women["anc_visits"] = np.where(birth, np.where(anc4, rng.integers(4, 9, n), rng.integers(0, 4, n)), np.nan)
    justified = answer("H4")
    reasons = ["beat_goes_out", "beat_neglects_children", "beat_argues", "beat_refuses_sex", "beat_burns_food"]
    first = rng.integers(0, 5, n)
    for k, reason in enumerate(reasons):
        women[reason] = (justified & ((first == k) | (rng.random(n) < 0.3))).astype(int)
    violence = answer("H5", partnered)
    physical = violence & (rng.random(n) < 0.8)
    women["ipv_physical_12m"] = np.where(partnered, physical, 0).astype(int)
    women["ipv_sexual_12m"] = np.where(partnered, violence & (~physical | (rng.random(n) < 0.3)), 0).astype(int)
    women["sought_formal_help"] = np.where(violence, answer("H6", violence), np.nan)
    women["knows_trusted_address"] = answer("H7").astype(float)
    women["has_formal_account"] = answer("H8").astype(float)
    women["tkvvtb_member"] = (rng.random(n) < 0.05 + 0.15 * women.project * progress).astype(int)
    women["spoke_at_meeting"] = answer("H9").astype(int)
    decides = answer("H10", in_union)
    women["purchase_decision"] = np.where(
        in_union,
        np.where(
            decides, rng.choice(["self", "joint"], n, p=[0.2, 0.8]), rng.choice(["husband", "other"], n, p=[0.85, 0.15])
        ),
        None,
    )
    women = women.drop(columns=effects)
    women["education"] = np.where(
        rng.random(n) < np.where(women.ethnicity == settings["majority_group"], 0.05, 0.35),
        "none",
        rng.choice(["primary", "lower_secondary", "upper_secondary"], n, p=[0.4, 0.4, 0.2]),
    )
    return women


def truth(frame: pd.DataFrame, settings: dict, seed: int) -> pd.DataFrame:
    """Population values of H1-H10 per round, for project and comparison villages and in
    all, and the population difference-in-differences (the true effects)."""
    from d8lib.survey.outcomes import indicator_columns, load_definitions

    definitions = load_definitions()
    rows = []
    surveyed = frame[frame.zone != "none"]
    for round_name in settings["survey_years"]:
        rng = _stream(seed, f"population-{round_name}")
        women = population(surveyed, round_name, settings, rng)
        for code, spec in definitions.iterrows():
            columns = indicator_columns(women, spec)
            inside = columns._in_universe.notna()
            answered = women[inside].assign(answer=columns._answer[inside])
            for group, part in [
                ("all", answered),
                ("project", answered[answered.project == 1]),
                ("comparison", answered[answered.project == 0]),
            ]:
                rows.append(
                    dict(indicator=code, round=round_name, group=group, value=part.answer.mean(), women=len(part))
                )
    table = pd.DataFrame(rows)
    values = table.set_index(["indicator", "round", "group"]).value
    for code in definitions.index:
        for after in ("midterm", "endline"):
            effect = (values[code, after, "project"] - values[code, "baseline", "project"]) - (
                values[code, after, "comparison"] - values[code, "baseline", "comparison"]
            )
            rows.append(dict(indicator=code, round=after, group="difference_in_differences", value=effect, women=0))
    return pd.DataFrame(rows)


def choose_villages(frame: pd.DataFrame, settings: dict, rng: np.random.Generator) -> pd.DataFrame:
    """The survey's villages, the same every round: in each district, the numbers of
    the settings among project and among comparison villages (the strata), with how
    many villages each stratum has and how many were taken."""
    design = settings["survey"]
    eligible = frame[frame.zone != "none"]
    chosen = []
    for (_district, project), group in eligible.groupby(["district", "project"], sort=True):
        take = design["project_villages" if project else "comparison_villages"]
        picked = group.loc[rng.choice(group.index, min(take, len(group)), replace=False)].sort_index()
        chosen.append(picked.assign(villages_in_stratum=len(group), villages_taken=len(picked)))
    return pd.concat(chosen)


def draw_sample(
    women: pd.DataFrame, chosen: pd.DataFrame, settings: dict, rng: np.random.Generator, households_per_village: int
) -> pd.DataFrame:
    """Households drawn at random in each chosen village, one eligible woman in each,
    with her design weight, stratum and response: some households are not
    interviewed, some women are not at home or refuse (more often Kinh women, as in
    urban areas); their answers are missing."""
    women = women[women.village.isin(chosen.village)]
    households = women.groupby(["village", "household_seq"]).size().rename("eligible").reset_index()
    households["key"] = rng.random(len(households))
    households["rank"] = households.groupby("village").key.rank(method="first")
    households["households_in_village"] = households.groupby("village").household_seq.transform("size")
    picked = households[households["rank"] <= households_per_village]
    women = women.assign(key=rng.random(len(women))).merge(
        picked[["village", "household_seq", "eligible", "households_in_village"]], on=["village", "household_seq"]
    )
    women = (
        women.sort_values("key").groupby(["village", "household_seq"]).head(1).sort_values(["village", "household_seq"])
    )
    strata = chosen.set_index("village")
    taken = women.groupby("village").household_seq.transform("size")
    women["weight"] = (
        (strata.villages_in_stratum[women.village].to_numpy() / strata.villages_taken[women.village].to_numpy())
        * women.households_in_village
        / taken
        * women.eligible
    ).round(4)
    women["stratum"] = women.district + np.where(women.project == 1, "-P", "-C")
    rates = settings["nonresponse"]
    absent = rng.random(len(women)) < rates["household"]
    woman_rate = women.ethnicity.map(rates["woman"]).fillna(rates["woman"]["other"]).to_numpy()
    refused = ~absent & (rng.random(len(women)) < woman_rate)
    women["response"] = np.where(
        absent,
        "household_not_interviewed",
        np.where(refused, rng.choice(["not_at_home", "refused"], len(women)), "completed"),
    )
    return women.reset_index(drop=True)


ANSWERS = [
    "age",
    "ethnicity",
    "education",
    "marital_status",
    "ever_partnered",
    "age_first_union",
    "birth_2y",
    "birth_place",
    "anc_visits",
    "beat_goes_out",
    "beat_neglects_children",
    "beat_argues",
    "beat_refuses_sex",
    "beat_burns_food",
    "ipv_physical_12m",
    "ipv_sexual_12m",
    "sought_formal_help",
    "knows_trusted_address",
    "has_formal_account",
    "tkvvtb_member",
    "spoke_at_meeting",
    "purchase_decision",
]


def survey(frame: pd.DataFrame, round_name: str, settings: dict, seed: int, scale: int, units: Units) -> pd.DataFrame:
    """One round's sample as the survey firm delivers it: every selected woman (or
    household) with her response status, answers only from those interviewed."""
    eligible = frame[frame.zone != "none"]
    chosen = choose_villages(frame, settings, _stream(seed, "survey-villages"))
    name = f"population-{round_name}" if scale == 1 else f"population-{round_name}-x{scale}"
    if scale == 1:
        # The very women of the truth's population: the survey is drawn from them.
        women = population(eligible, round_name, settings, _stream(seed, name))
    else:
        women = population(chosen, round_name, settings, _stream(seed, name), multiplier=scale)
    draw = _stream(seed, f"sample-{round_name}-{scale}")
    women = draw_sample(women, chosen, settings, draw, settings["survey"]["households_per_village"] * scale)
    women["round"] = round_name
    women = _identities(women, draw, settings)
    # A little item non-response, as in any real survey.
    for column in ("knows_trusted_address", "has_formal_account"):
        women.loc[draw.random(len(women)) < 0.01, column] = np.nan
    # Nobody answered for the women not interviewed; of a household not interviewed
    # nothing is known but where it is.
    not_interviewed = women.response != "completed"
    women.loc[not_interviewed, ANSWERS[2:]] = np.nan
    women.loc[women.response == "household_not_interviewed", ["age", "ethnicity", "respondent_name", "phone"]] = np.nan
    women["household"] = women.village + "-" + women.household_seq.astype(str).str.zfill(3)
    women["respondent_id"] = f"{round_name[0].upper()}" + pd.Series(range(1, len(women) + 1)).astype(str).str.zfill(6)
    columns = [
        "respondent_id",
        "respondent_name",
        "phone",
        "round",
        "stratum",
        "village",
        "household",
        "weight",
        "response",
        "project",
        *ANSWERS,
    ]
    if round_name == "endline":
        # Collected after 1/7/2025: communes of the reform, no district any more; the
        # strata keep the codes the sample was drawn with.
        return women[columns[:6] + ["commune_2025"] + columns[6:]]
    return women[columns[:6] + ["district", "commune"] + columns[6:]]


def demo_codebook(settings: dict) -> dict:
    """The codebook of the files ``survey`` writes: d8's names, d8's values."""
    from d8lib.survey.io.codebook import variables

    groups = list(next(iter(settings["ethnic_shares"].values())))
    columns = {}
    for name in variables():
        entry = {"column": name}
        if name in ("district", "commune", "commune_2025", "project", "round"):
            entry["optional"] = True  # the endline has no district; the register says project
        if name == "ethnicity":
            entry["values"] = groups
        columns[name] = entry
    return {
        "rounds": {r: {"year": y, "files": [f"{r}-{y}.csv"]} for r, y in settings["survey_years"].items()},
        "personal": ["respondent_name", "phone"],
        "columns": columns,
        "derived": {"age_group": age_group_spec()},
    }


def population_totals(frame: pd.DataFrame, settings: dict, seed: int, scale: int = 1) -> pd.DataFrame:
    """Women 15-49 of the surveyed area per round by district, ethnic group and age
    group: the totals a statistics office would publish, here counted from the
    synthetic population itself (times ``scale``, as the scaled survey's weights)."""
    tables = []
    surveyed = frame[frame.zone != "none"]
    for round_name in settings["survey_years"]:
        women = population(surveyed, round_name, settings, _stream(seed, f"population-{round_name}"))
        women["age_group"] = age_group(women.age)
        counts = (women.groupby(["district", "ethnicity", "age_group"]).size() * scale).rename("women").reset_index()
        tables.append(counts.assign(round=round_name, year=settings["survey_years"][round_name]))
    return pd.concat(tables, ignore_index=True)[["round", "year", "district", "ethnicity", "age_group", "women"]]


def _identities(women: pd.DataFrame, rng, settings: dict) -> pd.DataFrame:
    """Names and phone numbers as a raw survey file carries them (sensitive)."""
    names = settings["names"]
    family = [rng.choice(names["family"].get(e, names["family"]["other"])) for e in women.ethnicity]
    given = rng.choice(names["given"], len(women))
    women["respondent_name"] = [f"{f} Thị {g}" for f, g in zip(family, given)]
    prefixes = np.array(
        ["086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039", "091", "094"]
    )
    women["phone"] = [
        p + f"{d:07d}" for p, d in zip(rng.choice(prefixes, len(women)), rng.integers(0, 10**7, len(women)))
    ]
    return women


# --- registers ---------------------------------------------------------------------------

STOCKS = {"O1": "teams", "O2": "savings_groups", "O6": "livelihood_groups", "O7": "trusted_addresses", "O9": "clubs"}
FLOWS = ["O1.1", "O2.1", "O8", "O8.1", "O9.1", "O10", "O11", "O12.2", "O12.3"]


def _allocate(total: int, weights: pd.Series) -> pd.Series:
    """Split a whole number in proportion to weights (largest remainders)."""
    exact = total * weights / weights.sum()
    base = np.floor(exact).astype(int)
    extra = (exact - base).sort_values(ascending=False).index[: total - base.sum()]
    base[extra] += 1
    return base


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
        split = _allocate(int(province.target[code]), weights)
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


# --- district reports ---------------------------------------------------------------------


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


# --- the whole dataset ----------------------------------------------------------------------


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


def load_settings(path: str | Path | None = None) -> dict:
    return yaml.safe_load(Path(path or DEFAULT_SETTINGS).read_text(encoding="utf-8"))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")


def generate(
    out: str | Path, seed: int | None = None, scale: int = 1, plan: Plan | None = None, settings: dict | None = None
) -> Path:
    """Write the synthetic dataset to ``out``; the same seed and scale give the same bytes."""
    out = Path(out)
    settings = settings or load_settings()
    seed = settings["seed"] if seed is None else seed
    plan = plan or load_plan()
    units = plan.units()
    frame = villages(units, settings, _stream(seed, "villages"))
    village_columns = [
        "village",
        "village_name",
        "commune",
        "commune_name",
        "district",
        "commune_2025",
        "commune_2025_name",
        "zone",
        "extremely_difficult",
        "border",
        "project",
        "women",
    ]
    _write_csv(frame[village_columns], out / "villages.csv")
    (out / "villages.yaml").write_text(VILLAGES_PROVENANCE, encoding="utf-8")
    cutoff = dt.date.fromisoformat(str(settings["submissions"]["registers_until"]))
    tables = registers(plan, frame, settings, _stream(seed, "registers"), cutoff)
    for name, table in tables.items():
        _write_csv(table, out / "registers" / f"{name}.csv")
    answers = milestone_answers(plan, settings, _stream(seed, "milestones"))
    inbox = submissions(plan, tables, settings, _stream(seed, "submissions"), out / "submissions", answers)
    _write_csv(inbox, out / "inbox.csv")
    for round_name, year in settings["survey_years"].items():
        _write_csv(survey(frame, round_name, settings, seed, scale, units), out / "survey" / f"{round_name}-{year}.csv")
    _write_csv(population_totals(frame, settings, seed, scale), out / "survey" / "population.csv")
    (out / "survey" / "codebook.yaml").write_text(
        CODEBOOK_HEADER
        + yaml.safe_dump(demo_codebook(settings), allow_unicode=True, sort_keys=False, default_flow_style=None),
        encoding="utf-8",
    )
    (out / "survey" / "calibration.yaml").write_text(
        CALIBRATION_HEADER
        + yaml.safe_dump(settings["calibration"], allow_unicode=True, sort_keys=False, default_flow_style=None),
        encoding="utf-8",
    )
    _write_csv(truth(frame, settings, seed), out / "truth.csv")
    (out / "truth_parameters.json").write_text(
        json.dumps(
            {
                "seed": seed,
                "scale": scale,
                "trend_per_round": settings["trend_per_round"],
                "effect_reached": settings["effect_reached"],
                "effects_logit": {k: v["effect"] for k, v in settings["outcomes"].items()},
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    return out

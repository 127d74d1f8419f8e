"""The synthetic province's people: its villages, the women 15-49 who live there, the
true outcomes they were drawn with, the survey samples of each round, and the
population totals a statistics office would publish."""

from __future__ import annotations

import numpy as np
import pandas as pd

from d8demo.draws import logistic, logit, stream
from d8lib.survey.outcomes import age_group, age_group_spec
from d8lib.units.registry import Units


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
    households = pd.Series(new_household.cumsum())
    women["household_seq"] = households - households.groupby(women.village).transform("min") + 1
    progress = settings["effect_reached"][round_name]
    trend = settings["trend_per_round"][round_name]
    models = settings["outcomes"]

    def answer(code: str, universe: np.ndarray | None = None) -> np.ndarray:
        m = models[code]
        levels = {e: m["baseline"].get(e, m["baseline"]["other"]) for e in groups}
        level = logit(women.ethnicity.map(levels).to_numpy(dtype=float))
        x = level + women[f"effect_{code}"].to_numpy() * m.get("village_weight", 1.0) + trend * m["trend"]
        x = x + women.project.to_numpy() * progress * m["effect"]
        draw = rng.random(n) < logistic(x)
        return draw if universe is None else draw & universe

    age = women.age.to_numpy()
    partnered = rng.random(n) < logistic(
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
        rng = stream(seed, f"population-{round_name}")
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
    chosen = choose_villages(frame, settings, stream(seed, "survey-villages"))
    name = f"population-{round_name}" if scale == 1 else f"population-{round_name}-x{scale}"
    if scale == 1:
        # The very women of the truth's population: the survey is drawn from them.
        women = population(eligible, round_name, settings, stream(seed, name))
    else:
        women = population(chosen, round_name, settings, stream(seed, name), multiplier=scale)
    draw = stream(seed, f"sample-{round_name}-{scale}")
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
        women = population(surveyed, round_name, settings, stream(seed, f"population-{round_name}"))
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

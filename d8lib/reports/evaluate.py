"""The evaluation of one phase: progress against the plan, outcome indicators per round,
changes since baseline and effects against comparison villages, as plain tables.

``build`` computes everything a run's reports show, once, into a ``Bundle``; each
report notebook takes its unit's part with ``Bundle.for_unit``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core import labels
from d8lib.core.digests import code_fingerprint, digest, sha256_file
from d8lib.core.errors import InputError
from d8lib.core.paths import DATA_DIR, evaluation_settings, run_cache
from d8lib.intake.inbox import prepare_store
from d8lib.intake.store import Store
from d8lib.monitoring import milestones, progress, quality
from d8lib.plan.model import PEOPLE, Plan, load_plan
from d8lib.reports import disclosure
from d8lib.reports.bundle import REGISTRY, Bundle
from d8lib.reports.dates import default_as_of, phase_at
from d8lib.reports.remembered import remembered
from d8lib.survey import outcomes, standards, weighting
from d8lib.survey.comparisons import (
    difference_in_differences,
    within_difference_in_differences,
)
from d8lib.survey.design import Design
from d8lib.survey.io.codebook import Codebook, load_codebook, read_round, variables
from d8lib.survey.smallarea import area_estimates
from d8lib.units import reform
from d8lib.units.registry import Units

CODE_COLUMNS = {
    "district": str,
    "commune": str,
    "commune_2025": str,
    "village": str,
    "stratum": str,
    "household": str,
    "respondent_id": str,
}


class BridgeError(ValueError):
    """Survey rows that cannot be placed in a district of the plan."""


class SurveyDataError(ValueError):
    """Survey rounds whose villages contradict the register or each other."""


def _names(values) -> str:
    values = sorted(map(str, values))
    return ", ".join(values[:10]) + (f" (+{len(values) - 10})" if len(values) > 10 else "")


def phase_rounds(phase: str) -> list[str]:
    """The survey rounds a phase compares, oldest first."""
    return list(evaluation_settings()["phases"][phase]["rounds"])


def survey_codebook(data_dir: Path) -> Codebook:
    """The codebook of a data folder's survey files (``survey/codebook.yaml``)."""
    return load_codebook(Path(data_dir) / "survey" / "codebook.yaml")


def bridge(survey: pd.DataFrame, villages: pd.DataFrame, units: Units) -> pd.DataFrame:
    """Give every row its district (and commune) of before the commune reform.

    Rows coded by post-reform commune are placed through their village in the village
    register; a row whose village is unknown goes through the crosswalk when its new
    commune lies in one old district only. Anything else is an error that names the rows.
    """
    if "district" in survey and survey.district.notna().all():
        return survey
    register = villages.set_index("village")[["district", "commune"]]
    placed = survey.join(register.add_suffix("_register"), on="village")
    for column in ("district", "commune"):
        known = placed.pop(f"{column}_register")
        placed[column] = placed[column].fillna(known) if column in placed else known
    unplaced = placed.district.isna()
    if unplaced.any() and "commune_2025" in placed:
        cross = units.crosswalk.groupby("new_code").old_district_code.unique()
        single = cross[cross.map(len) == 1].map(lambda a: a[0])
        placed.loc[unplaced, "district"] = placed.loc[unplaced, "commune_2025"].map(single)
        unplaced = placed.district.isna()
    if unplaced.any():
        rows = ", ".join(map(str, placed.index[unplaced][:10] + 2))
        raise BridgeError(
            f"Không xác định được huyện (trước sắp xếp đơn vị hành chính) cho {unplaced.sum()} dòng (dòng {rows}) / "
            f"{unplaced.sum()} survey rows cannot be placed in a pre-reform district (rows {rows})"
        )
    return placed


def has_survey(data_dir: Path) -> bool:
    """Whether a data folder holds survey data (its village register)."""
    return (Path(data_dir) / "villages.csv").is_file()


def load_surveys(data_dir: Path, rounds: list[str], units: Units) -> pd.DataFrame:
    """The survey rounds of a phase, stacked: every row with its pre-reform district,
    its village's project status from the village register (intention to treat) and a
    weight adjusted for nonresponse; only the women interviewed remain."""
    villages = pd.read_csv(data_dir / "villages.csv", dtype=CODE_COLUMNS)
    codebook = survey_codebook(data_dir)
    frames, grouped = [], {}
    for name in rounds:
        frame = read_round(codebook, name)
        for variable, count in frame.attrs.get("grouped_as_other", {}).items():
            grouped[variable] = grouped.get(variable, 0) + count
        frames.append(bridge(frame, villages, units).assign(round=name))
    stacked = pd.concat(frames, ignore_index=True)
    stacked["round"] = pd.Categorical(stacked["round"], categories=variables()["round"]["values"], ordered=True)
    stacked = assign_from_register(stacked, villages)
    # Breakdowns by an attribute of the village register (its zone: I, II, III).
    for dimension in evaluation_settings()["breakdowns"]:
        if dimension not in stacked and dimension in villages:
            stacked[dimension] = stacked.village.map(villages.set_index("village")[dimension])
    check_strata(stacked)
    stacked = respondents(stacked)
    stacked.attrs["grouped_as_other"] = grouped
    return stacked


def respondents(stacked: pd.DataFrame) -> pd.DataFrame:
    """The women interviewed, their weights adjusted for the nonresponse of their
    village in their round (of their stratum where nobody in the village answered).
    Rows without a ``response`` column are all taken as interviewed."""
    if "response" not in stacked:
        return stacked
    completed = stacked.response.eq("completed")
    rounds = stacked["round"].astype(str) + "|"
    adjusted = weighting.adjust_for_nonresponse(
        stacked.assign(round_village=rounds + stacked.village, round_stratum=rounds + stacked.stratum),
        "weight",
        completed,
        ["round_village", "round_stratum"],
    )
    return stacked.assign(weight=adjusted)[completed].reset_index(drop=True)


def assign_from_register(stacked: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """Each row's project status as the village register has it. A village whose status
    in a survey file differs from the register, or between rounds, is an error that
    names it: assignment is what the register said at baseline."""
    register = villages.set_index("village").project
    unknown = set(stacked.village) - set(register.index)
    if unknown:
        raise SurveyDataError(
            f"Thôn không có trong danh sách thôn: {_names(unknown)} / "
            f"Villages not in the village register: {_names(unknown)}"
        )
    assigned = stacked.village.map(register).astype(int)
    if "project" in stacked:
        differs = stacked.project.notna() & (stacked.project.astype(float) != assigned)
        if differs.any():
            names = _names(stacked.village[differs].unique())
            raise SurveyDataError(
                f"Tình trạng dự án của thôn khác với danh sách thôn ban đầu: {names} / "
                f"Project status differs from the baseline village register in villages {names}"
            )
    return stacked.assign(project=assigned)


def check_strata(stacked: pd.DataFrame) -> None:
    """A village visited in several rounds must keep its stratum (it is one PSU)."""
    strata = stacked.groupby("village").stratum.nunique()
    moved = strata.index[strata > 1]
    if len(moved):
        raise SurveyDataError(
            f"Thôn thuộc hai tầng khác nhau giữa các vòng: {_names(moved)} / "
            f"Villages under two strata across rounds: {_names(moved)}"
        )


def calibration_settings(data_dir: Path) -> dict | None:
    """The dataset's calibration (``survey/calibration.yaml``), or None without one."""
    path = Path(data_dir) / "survey" / "calibration.yaml"
    if not path.exists():
        return None
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["totals"] = pd.read_csv(path.parent / settings["totals"], dtype=CODE_COLUMNS)
    return settings


def survey_design(
    stacked: pd.DataFrame, calibration: dict | None = None, variance: str | None = None, **replication
) -> Design:
    """The design of the stacked rounds: strata as drawn, villages as PSUs. A village
    visited in several rounds is one PSU, so that changes carry its covariance. With
    ``calibration`` (see ``calibration_settings``), each round's weights are calibrated
    to its population totals on the margins named there. ``variance`` in
    data/evaluation.yaml, unless given: ``taylor`` (linearisation) or ``jkn`` (a jackknife
    replicate design, calibrated replicate by replicate; the weights are adjusted for
    nonresponse within villages before, which every replicate keeps: a replicate
    multiplies a whole village); any method of ``Design.replicates``, with its
    ``replication`` (replicates, seed)."""
    lonely, variance = lonely_psu(), variance or evaluation_settings().get("variance", "taylor")

    def designed(data: pd.DataFrame) -> Design:
        design = Design(data, "weight", strata="stratum", psu="village", lonely_psu=lonely)
        return design if variance == "taylor" else design.replicates(variance, **replication)

    if calibration is None:
        return designed(stacked)
    margins = [["round", *m] for m in calibration["margins"]]
    totals = calibration["totals"]
    totals = totals[totals["round"].isin(stacked["round"].astype(str).unique())]
    keyed, population = weighting.margins_from_totals(
        totals,
        stacked.assign(round=stacked["round"].astype(str)),
        margins,
        calibration["minimum_cell"],
        value=calibration["value"],
    )
    keyed["round"] = stacked["round"]
    return designed(keyed).calibrate(population, calibration["method"])


def lonely_psu() -> str:
    """How a stratum with a single responding village counts in every design of a run
    (``lonely_psu`` in data/evaluation.yaml; ``d8lib.survey.design`` for what each means)."""
    return evaluation_settings()["lonely_psu"]


def outcome_design(data_dir: Path, rounds: list[str], units: Units, definitions: pd.DataFrame) -> tuple:
    """The survey rounds of a phase, stacked, their calibration settings, and their design
    with every outcome indicator's columns (``outcomes.with_indicators``)."""
    stacked = load_surveys(data_dir, rounds, units)
    calibration = calibration_settings(data_dir)
    return stacked, calibration, outcomes.with_indicators(survey_design(stacked, calibration), definitions)


def pooling_rows(design: Design, level: str) -> pd.DataFrame:
    """A design's rows for pooling with other designs, ``level`` (a province) becoming a
    level of stratification: its final weights, strata and villages prefixed by
    ``level``, the round and the indicators' columns."""
    indicators = [c for c in design.data if c.startswith(("_in_universe:", "_answer:"))]
    rows = design.data[["round", "stratum", "village", *indicators]].assign(weight=design.weights.to_numpy())
    return rows.assign(
        round=rows["round"].astype(str),
        stratum=level + ":" + rows.stratum.astype(str),
        village=level + ":" + rows.village.astype(str),
        province=level,
    )


def pooled_outcomes(frames: list[pd.DataFrame], definitions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Outcome indicators per round over pooled designs (``pooling_rows``), design-based
    with the pooled degrees of freedom, judged by the presentation standard. The weights
    are each design's final ones; the variance ignores what calibration gained, so it errs
    on the side of wider intervals."""
    definitions = outcomes.load_definitions() if definitions is None else definitions
    standard = standards.load_standard()
    design = Design(
        pd.concat(frames, ignore_index=True), "weight", strata="stratum", psu="village", lonely_psu=lonely_psu()
    )
    return standards.judge(
        outcomes.estimate(design, by=["round"], definitions=definitions, ci=standard.interval), standard
    )


def _per_indicator(design: Design, function, definitions: pd.DataFrame) -> pd.DataFrame:
    """``function(design, universe column, answer column)`` for every indicator, stacked."""
    frames = []
    for code, spec in definitions.iterrows():
        result = function(*outcomes.for_indicator(design, spec))
        if len(result):
            result.insert(0, "indicator", code)
            frames.append(result)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def outcome_changes(
    design: Design, rounds: list[str], by: list[str] | None = None, definitions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Change of each indicator from baseline to the latest round, per domain."""
    definitions = outcomes.load_definitions() if definitions is None else definitions
    by = by or []
    first, last = rounds[0], rounds[-1]

    def change(d: Design, universe: str, answer: str) -> pd.DataFrame:
        cells = d.mean(answer, by=by + [universe, "round"], missing="exclude")
        keys = set(map(tuple, cells[by + [universe, "round"]].itertuples(index=False)))
        domains = [tuple(x) for x in cells[by].drop_duplicates().itertuples(index=False)] if by else [()]
        wanted = [{dom + (1.0, last): 1.0, dom + (1.0, first): -1.0} for dom in domains]
        kept = [(dom, c) for dom, c in zip(domains, wanted) if all(k in keys for k in c)]
        if not kept:
            return pd.DataFrame()
        tests = d.contrasts(answer, by + [universe, "round"], [c for _, c in kept], missing="exclude")
        return pd.concat(
            [pd.DataFrame([{**dict(zip(by, dom)), "from": first, "to": last} for dom, _ in kept]), tests], axis=1
        )

    return _per_indicator(design, change, definitions)


def outcome_effects(
    design: Design,
    rounds: list[str],
    by: list[str] | None = None,
    definitions: pd.DataFrame | None = None,
    within: str | None = None,
) -> pd.DataFrame:
    """Difference from comparison villages (difference in differences, project minus
    comparison villages, baseline to latest round), per domain: pooled over all
    villages, or with ``within`` the average of the differences inside each district
    that has both kinds of village. ``comparison`` says which."""
    definitions = outcomes.load_definitions() if definitions is None else definitions
    by = by or []

    def effect(d: Design, universe: str, answer: str) -> pd.DataFrame:
        arguments = (d, answer, "round", "project", (rounds[0], rounds[-1]), (1, 0))
        if within:
            result = within_difference_in_differences(*arguments, within=within, by=by + [universe], missing="exclude")
        else:
            result = difference_in_differences(*arguments, by=by + [universe], missing="exclude")
        if not len(result):
            return result
        return result.drop(columns=universe).assign(comparison="within_district" if within else "pooled")

    return _per_indicator(design, effect, definitions)


def _by_unit(frame: pd.DataFrame, province: str, column: str = "district") -> pd.DataFrame:
    if column in frame:
        return frame.rename(columns={column: "unit"})
    return frame.assign(unit=province)


@dataclass(frozen=True)
class Inputs:
    """What the steps of a build read."""

    plan: Plan
    store: Store
    data_dir: Path | None  # None: a monitoring review, which reads no survey
    rounds: list[str]
    as_of: dt.date
    areas: pd.Series | None  # commune_areas
    design: tuple | None  # outcome_design, computed already
    earlier: disclosure.Earlier | None
    review: str = ""  # a progress review: of the survey, only the latest round's small areas
    cache: Path | None = None  # where the survey's estimates are kept for the next run (``remembered``)


def build(
    plan: Plan,
    data_dir: str | Path | None,
    store: Store,
    phase: str,
    as_of: dt.date | None = None,
    period: str = "",
    review: str = "",
    areas: pd.Series | None = None,
    design: tuple | None = None,
    earlier: disclosure.Earlier | None = None,
    cache: Path | None = None,
) -> Bundle:
    """Compute every table of a phase's reports for the province and each district, step
    by step (``STEPS``, in the order of the registry ``bundle.REGISTRY``).

    Without ``data_dir`` (a monitoring review of one reporting ``period``) the survey
    tables stay empty; a ``review`` with one shows the small-area estimates of the
    latest survey round fielded by ``as_of`` (``review_survey_tables``). ``areas``
    (``commune_areas``) gives progress by area; ``design`` (``outcome_design``) a
    survey design computed already; ``earlier`` what the last
    published run of the same phase or review showed (``disclosure.Earlier``), which the
    protection of persons takes into account; ``cache`` a folder where the survey's
    estimates are kept for the next build from the same survey (``remembered``).
    """
    as_of = as_of or default_as_of(phase)
    rounds = phase_rounds(phase)
    data = Path(data_dir) if data_dir is not None else None
    inputs = Inputs(plan, store, data, rounds, as_of, areas, design, earlier, review, cache)
    tables, facts = {}, {}
    for step in dict.fromkeys(t.step for t in REGISTRY):
        made, found = STEPS[step](inputs, tables)
        tables, facts = tables | made, facts | found
    return Bundle(
        phase=phase,
        as_of=as_of,
        rounds=rounds,
        province=plan.province,
        **tables,
        **facts,
        period=period,
        review=review,
        review_titles={lang: labels.review_name(review, lang, plan) for lang in labels.LANGUAGES} if review else {},
        unit_level=plan.unit_level,
        illustration=plan.meta.get("illustration") or {},
        plan_terms=[list(pair) for pair in plan.meta.get("terms") or []],
        period_names=labels.period_names(plan),
    )


def plan_tables(inputs: Inputs, tables: dict) -> tuple[dict, dict]:
    """The plan's own tables: its reporting units (after the reform, with the districts
    each new commune came from), milestones, priority groups, indicators, the findings
    of its checks, and the outcome indicators' definitions."""
    plan = inputs.plan
    units = plan.units()
    unit_names = plan.reporting_units()
    if units is not None and (plan.reform or plan.unit_level == reform.LEVEL):
        origins = reform.new_communes(units).set_index("unit")
        unit_names["old_districts"] = unit_names.unit.map(origins.districts).map(
            lambda d: ";".join(d) if isinstance(d, tuple) else ""
        )
        district_names = units.at_level("district").set_index("code").name
        unit_names["old_district_names"] = unit_names.old_districts.map(
            lambda d: ";".join(district_names.get(x, x) for x in d.split(";") if x)
        )
    milestone_names = (
        plan.milestones.merge(
            plan.agencies[["code", "name_vi", "name_en"]].add_prefix("agency_"),
            left_on="agency",
            right_on="agency_code",
        )
        .drop(columns="agency_code")
        .rename(columns={"agency_name_vi": "agency_vi", "agency_name_en": "agency_en"})
    )
    return {
        "units": unit_names,
        "milestone_names": milestone_names,
        "priority_groups": plan.priority_groups,
        "findings": pd.DataFrame(
            [asdict(f) for f in plan.check()], columns=["severity", "message", "message_en", "source"]
        ),
        "indicators": plan.indicators,
        "outcome_definitions": outcomes.load_definitions(),
    }, {}


def progress_tables(inputs: Inputs, tables: dict) -> tuple[dict, dict]:
    """Progress against the plan from what units sent: targets, milestones, progress by
    area, persons reached (protected: small counts and the cells that would give them
    away are withheld), each unit's completeness and the open problems."""
    plan, store, as_of = inputs.plan, inputs.store, inputs.as_of
    units, province, unit_names = plan.units(), plan.province, tables["units"]
    sent = store.values()
    new_units = sorted(set(sent.district) & set(unit_names.unit[~unit_names.level.isin(["province", plan.unit_level])]))
    values = reform.by_old_district(sent, units) if new_units else sent
    table = progress.progress(plan, values, as_of)
    theirs = progress.unit_progress(plan, sent, as_of, new_units) if new_units else table.iloc[:0]
    if len(theirs):
        table = pd.concat([table, theirs], ignore_index=True)
    standing = milestones.milestone_status(plan, sent, as_of, new_units)
    areas = inputs.areas if inputs.areas is not None else pd.Series(dtype=str)
    by_area = progress.by_area(plan, values, areas, as_of)
    persons = table.indicator.isin(plan.person_indicators)
    protected = disclosure.protect_people(
        _people(plan, values, as_of),
        province,
        earlier=inputs.earlier,
        achieved=table.loc[persons, ["unit", "indicator", "achieved"]],
        by_area=by_area[by_area.indicator.isin(plan.person_indicators)],
    )
    withheld = persons & table.achieved.notna() & protected.achieved.achieved.reindex(table.index).isna()
    table.loc[withheld, ["achieved", "percent_achieved"]] = float("nan")
    by_area = pd.concat([by_area[~by_area.indicator.isin(plan.person_indicators)], protected.by_area]).sort_index()
    submissions = store.submissions()
    if new_units:
        submissions = reform.by_old_district(submissions, units)
    complete = progress.completeness(plan, submissions, as_of)
    return {
        "progress": table,
        "milestones": standing.drop(columns=PEOPLE),
        "by_area": by_area,
        "people": protected.people,
        "completeness": complete,
        "problems": quality.open_problems(plan, store.warnings(), complete, values, as_of),
        "disclosure": protected.cells,
    }, {}


SURVEY_TABLES = ("outcomes", "breakdowns", "changes", "effects", "small_areas", "sample")


def survey_tables(inputs: Inputs, tables: dict) -> tuple[dict, dict]:
    """The survey's figures for the phase's rounds (``survey_estimates``, kept in the run's
    cache for the same survey, units and code); groups of too few respondents are then
    withheld and their cells added to the run's record. Empty without a survey."""
    empty = pd.DataFrame(columns=["unit"])
    if inputs.data_dir is None:
        return dict.fromkeys(SURVEY_TABLES, empty), {"design": {}}
    if inputs.review:
        return review_survey_tables(inputs, tables)
    province, definitions = inputs.plan.province, tables["outcome_definitions"]

    def estimated() -> tuple[dict, dict]:
        return survey_estimates(
            inputs.data_dir, inputs.rounds, inputs.plan.units(), province, definitions, inputs.design
        )

    key = survey_key(inputs.data_dir, inputs.plan, inputs.rounds)
    made, facts = remembered(inputs.cache if inputs.design is None else None, key, estimated)
    estimates, breakdowns, respondents = disclosure.protect_respondents(
        made["outcomes"], made["breakdowns"], province, earlier=inputs.earlier
    )
    made = made | {"outcomes": estimates, "breakdowns": breakdowns}
    return made | {"disclosure": pd.concat([tables["disclosure"], respondents], ignore_index=True)}, facts


def survey_key(data_dir: Path, plan: Plan, rounds: list[str], kind: str = "evaluation") -> str:
    """The digest of everything the survey's estimates are computed from: the survey's
    files and village register, the unit tables, the outcome definitions, evaluation
    settings and standards, the rounds, the province and d8's code."""
    data = [*sorted((data_dir / "survey").rglob("*")), data_dir / "villages.csv"]
    units = sorted(plan.units_dir.glob("*.csv")) if plan.units_dir else []
    settings = [DATA_DIR / "evaluation.yaml", *sorted((DATA_DIR / "indicators").rglob("*"))]
    settings += sorted((DATA_DIR / "standards").rglob("*"))
    named = {  # named within their folder: a copy of the same survey elsewhere has the same key
        f"{kind}/{f.relative_to(folder)}": f
        for kind, folder, files in [
            ("data", data_dir, data),
            ("units", plan.units_dir, units),
            ("d8", DATA_DIR, settings),
        ]
        for f in files
        if f.is_file()
    }
    return digest(
        {
            "files": {name: sha256_file(f) for name, f in named.items()},
            "rounds": list(rounds),
            "kind": kind,
            "province": plan.province,
            "code": code_fingerprint({}),
        }
    )


def survey_estimates(
    data_dir: Path, rounds: list[str], units: Units, province: str, definitions: pd.DataFrame, design: tuple | None
) -> tuple[dict, dict]:
    """The survey's figures for the phase's rounds, before the protection of persons:
    outcomes, breakdowns, changes and effects (each judged by the presentation
    standard), small-area estimates of the new communes, sample sizes, and the facts of
    the design. ``design``: ``outcome_design`` computed already, or None."""
    empty = pd.DataFrame(columns=["unit"])
    changes = effects = small = empty
    standard = standards.load_standard()
    stacked, calibration, design = design or outcome_design(data_dir, rounds, units, definitions)

    def estimate(by: list[str]) -> pd.DataFrame:
        return standards.judge(outcomes.estimate(design, by=by, ci=standard.interval), standard)

    def compare(function, **options) -> pd.DataFrame:
        frames = [
            _by_unit(function(design, rounds, definitions=definitions, **options), province),
            _by_unit(function(design, rounds, by=["district"], definitions=definitions), province),
        ]
        return standards.judge(pd.concat(frames, ignore_index=True), standard, kind="difference")

    estimates = pd.concat(
        [_by_unit(estimate(["round"]), province), _by_unit(estimate(["round", "district"]), province)],
        ignore_index=True,
    )
    parts = []
    for dimension in evaluation_settings()["breakdowns"]:
        for by in (["round", dimension], ["round", "district", dimension]):
            part = estimate(by).rename(columns={dimension: "group"}).assign(dimension=dimension)
            parts.append(_by_unit(part, province))
    breakdowns = pd.concat(parts, ignore_index=True)
    if len(rounds) > 1:
        changes = compare(outcome_changes)
        within = standards.judge(
            _by_unit(outcome_effects(design, rounds, definitions=definitions, within="district"), province),
            standard,
            "difference",
        )
        effects = pd.concat([compare(outcome_effects), within], ignore_index=True)
    villages = pd.read_csv(data_dir / "villages.csv", dtype=CODE_COLUMNS)
    small_facts = {}
    if "commune_2025" in villages:
        small, small_facts = small_areas(design, villages, rounds[-1], definitions)
    drawn = getattr(design, "source", None) or design  # a replicate design's strata and villages
    design_facts = {
        "strata": drawn.n_strata,
        "psus": drawn.n_psu,
        "df": design.df,
        "respondents": len(stacked),
        "calibration": calibration["method"] if calibration else "",
        "single_psu_strata": len(drawn.single_psu_strata),
        "lonely_psu": drawn.lonely_psu,
        "variance": evaluation_settings().get("variance", "taylor"),
        "calibration_margins": calibration["margins"] if calibration else [],
        "repeated_villages": int(stacked.groupby("village", observed=True)["round"].nunique().gt(1).sum()),
        "standard": standard.name,
        "standard_rules": list(standard.rules),
        "interval": standard.interval,
        "not_read": survey_codebook(data_dir).personal,
        "round_years": {r: survey_codebook(data_dir).rounds[r].get("year") for r in rounds},
        "grouped_as_other": stacked.attrs.get("grouped_as_other", {}),
        "small_areas": small_facts,
    }
    return {
        "outcomes": estimates,
        "breakdowns": breakdowns,
        "changes": changes,
        "effects": effects,
        "small_areas": small,
        "sample": _sample_sizes(stacked, province),
    }, {"design": design_facts}


def review_survey_tables(inputs: Inputs, tables: dict) -> tuple[dict, dict]:
    """What a progress review shows of the survey: the small-area estimates of the new
    communes in the latest round fielded by the review's date (a round of year Y counts
    from 31/12/Y), with the round's name and year; the other survey tables stay empty
    (a review is not an evaluation). Nothing without such a round or without the new
    communes in the village register."""
    found = dict.fromkeys(SURVEY_TABLES, pd.DataFrame(columns=["unit"]))
    data_dir, definitions = inputs.data_dir, tables["outcome_definitions"]
    villages = pd.read_csv(data_dir / "villages.csv", dtype=CODE_COLUMNS)
    years = {name: round_.get("year") for name, round_ in survey_codebook(data_dir).rounds.items()}
    fielded = [r for r in inputs.rounds if years.get(r) and dt.date(int(years[r]), 12, 31) <= inputs.as_of]
    if not fielded or "commune_2025" not in villages:
        return found, {"design": {}}
    latest = fielded[-1]

    def estimated() -> tuple[dict, dict]:
        _, _, design = outcome_design(data_dir, [latest], inputs.plan.units(), definitions)
        small, facts = small_areas(design, villages, latest, definitions)
        return {"small_areas": small}, {"small_areas": facts}

    made, facts = remembered(inputs.cache, survey_key(data_dir, inputs.plan, [latest], "small areas"), estimated)
    return found | made, {"design": {"small_areas": facts["small_areas"], "round_years": {latest: years[latest]}}}


# The steps of a build, by the name the registry (``bundle.REGISTRY``) gives each table's.
STEPS = {"plan": plan_tables, "progress": progress_tables, "survey": survey_tables}


def _people(plan: Plan, values: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Persons reached per unit, by sex: per indicator (members, participants), per
    priority group (its value) and per milestone that counts persons (its occurrences
    added up)."""
    reached = progress.achieved(plan, values, as_of)
    columns = PEOPLE
    if reached.empty:
        return pd.DataFrame(columns=["unit", "indicator"] + columns)
    groups = reached.indicator.isin(plan.priority_groups.code)
    reached["people"] = reached.people.where(~groups, reached.value)
    occurrence = reached.indicator.map(plan.occurrences.set_index("key").milestone)
    reached["indicator"] = occurrence.fillna(reached.indicator)
    reached = reached.groupby(["district", "indicator"], as_index=False)[columns].sum(min_count=1)
    reached = reached.dropna(subset=["people"])
    province = reached.groupby("indicator", as_index=False)[columns].sum(min_count=1).assign(district=plan.province)
    districts = reached[reached.district != plan.province]  # the province's own persons are in its total
    both = pd.concat([districts[["district", "indicator"] + columns], province], ignore_index=True)
    return both.rename(columns={"district": "unit"})


def _sample_sizes(stacked: pd.DataFrame, province: str) -> pd.DataFrame:
    whole = (
        stacked.groupby("round", observed=True)
        .agg(respondents=("weight", "size"), villages=("village", "nunique"), strata=("stratum", "nunique"))
        .reset_index()
        .assign(unit=province)
    )
    districts = (
        stacked.groupby(["round", "district"], observed=True)
        .agg(respondents=("weight", "size"), villages=("village", "nunique"), strata=("stratum", "nunique"))
        .reset_index()
    )
    return pd.concat([whole, districts.rename(columns={"district": "unit"})], ignore_index=True)


# --- key findings ------------------------------------------------------------------------


def commune_areas(data_dir: str | Path, attribute: str = "zone") -> pd.Series:
    """Each commune's area by the village register (``<data>/villages.csv``; the zone of a
    commune is that of all its villages), or nothing when the folder has no register."""
    path = Path(data_dir) / "villages.csv"
    if not path.exists():
        return pd.Series(dtype=str)
    villages = pd.read_csv(path, dtype=CODE_COLUMNS)
    return villages.groupby("commune")[attribute].first().astype(str)


def small_areas(design: Design, villages: pd.DataFrame, round_: str, definitions: pd.DataFrame) -> tuple:
    """Fay-Herriot estimates of the headline outcomes for every new commune of the
    register, in one survey round (``smallarea.area_estimates``: REML, smoothed direct
    variances, benchmarked to the province), judged by the presentation standard's
    rules for model-based figures. Returns the table (``unit`` the commune) and the
    model's facts per indicator: covariates, sigma2_u, mean shrinkage, and the mean
    and SD of the standardised residuals (direct minus synthetic over its root
    variance), which should be near 0 and 1 when the model fits."""
    covariates = commune_covariates(villages)
    standard = standards.load_standard()
    located = design.assign(commune_2025=design.data.village.map(villages.set_index("village").commune_2025))
    tables, facts = [], {}
    for code in definitions.index[definitions.headline.fillna(False).astype(bool)]:
        prepared, universe, answer = outcomes.for_indicator(located, definitions.loc[code])
        in_round = prepared.assign(_universe=prepared.data[universe].where(prepared.data["round"] == round_))
        fitted = area_estimates(in_round, answer, "commune_2025", covariates, "_universe")
        direct = standards.judge(
            in_round.mean(answer, by=["commune_2025", "_universe"], ci=standard.interval, missing="exclude"), standard
        ).set_index("commune_2025")
        fitted["direct_low"] = fitted.area.map(direct.ci_low)
        fitted["direct_high"] = fitted.area.map(direct.ci_high)
        fitted["direct_flag"] = fitted.area.map(direct.flag).fillna("unavailable")
        residual = ((fitted.direct - fitted.synthetic) / np.sqrt(fitted.variance)).dropna()
        facts[code] = {
            "sigma2_u": fitted.attrs["sigma2_u"],
            "shrinkage": float(fitted.shrinkage[fitted.n > 0].mean()),
            "residual_mean": float(residual.mean()),
            "residual_sd": float(residual.std()),
            "areas": int((fitted.n > 0).sum()),
        }
        tables.append(fitted.rename(columns={"area": "unit"}).assign(indicator=code, round=round_))
    if not tables:
        return pd.DataFrame(columns=["unit", "indicator"]), {}
    table = pd.concat(tables, ignore_index=True)
    table["se"] = np.sqrt(table.mse)
    judged = standards.judge(table, standard, kind="model")
    return judged, {"covariates": [c for c in covariates.columns if c != "area"], "indicators": facts}


def commune_covariates(villages: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Each new commune's covariates for small-area models, from the village register:
    the share of its villages at each level of a categorical column (all levels but the
    first, as the model has an intercept) and the mean of a numeric one. ``columns``:
    ``small_areas.covariates`` of data/evaluation.yaml by default."""
    columns = columns or evaluation_settings()["small_areas"]["covariates"]
    absent = [c for c in columns if c not in villages]
    if absent:
        raise InputError(
            f"Sổ thôn không có cột {absent} (small_areas.covariates)",
            f"The village register has no column {absent} (small_areas.covariates)",
        )
    parts = []
    for column in columns:
        values = villages[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all():
            parts.append(numeric.rename(column))
        else:
            levels = sorted(values.astype(str).unique())[1:]
            parts.extend((values.astype(str) == level).astype(float).rename(f"{column}={level}") for level in levels)
    shares = pd.concat(parts, axis=1).groupby(villages["commune_2025"].to_numpy()).mean()
    return shares.loc[:, shares.std() > 0].rename_axis("area").reset_index()


def for_phase(
    phase: str, data_dir: str | Path, plan_path: str = "", store_dir: str = "", as_of: str | dt.date | None = None
) -> Bundle:
    """The tables of a phase computed here from a data folder (the analyst's way in; a
    run hands its reports the tables it computed once)."""
    plan = load_plan(plan_path or None)
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) and as_of else as_of or None
    store = analyst_store(plan, store_dir, data_dir)
    return build(plan, Path(data_dir), store, phase, as_of, areas=commune_areas(data_dir))


def for_round(period: str, plan_path: str = "", store_dir: str = "", data_dir: str = "") -> Bundle:
    """The tables of the progress review of one reporting round, as of its deadline."""
    plan = load_plan(plan_path or None)
    rounds = plan.rounds.set_index("period")
    if period not in rounds.index:
        raise ValueError(f"Kỳ báo cáo {period} không có trong kế hoạch / Period {period} is not in the plan")
    as_of = rounds.deadline[period]
    store = analyst_store(plan, store_dir, data_dir)
    areas = commune_areas(data_dir) if data_dir else None
    return build(plan, None, store, phase_at(as_of), as_of, period=period, areas=areas)


def analyst_store(plan: Plan, store_dir: str, data_dir: str) -> Store:
    """The analyst's store, or one taken in from the data folder's inbox (cached)."""
    if store_dir:
        return Store(store_dir)
    return Store(prepare_store(plan, Path(data_dir), run_cache(Path(tempfile.gettempdir()) / "d8-cache")))

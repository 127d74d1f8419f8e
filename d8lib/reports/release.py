"""The survey rounds of a phase as a file analysts may receive (``d8 survey release``).

One row per woman interviewed: her round, her village's project status, the breakdowns
of data/evaluation.yaml, every outcome indicator (1 or 0; empty outside its universe),
the final weight as the reports use it (adjusted for nonresponse, calibrated where the
data folder asks) and replicate weights in place of strata and villages
(``d8lib.survey.io.replicate_file``). No identifier, name, phone, village, commune,
district or stratum is written; a breakdown's level held by fewer than ``MIN_COUNT``
women is pooled as ``POOLED``. Estimates from the file equal the pipeline's with the
same variance method.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from d8lib.plan.model import Plan
from d8lib.reports import evaluate
from d8lib.reports.disclosure import MIN_COUNT
from d8lib.survey import outcomes
from d8lib.survey.io import replicate_file

POOLED = "khác (gộp) / other (pooled)"
METHODS = ("jkn", "bootstrap")


def survey_release(
    data_dir: Path, phase: str, plan: Plan, method: str = "jkn", replicates: int | None = None, seed: int = 0
) -> tuple[pd.DataFrame, dict]:
    """The phase's rounds as the release's table, and the settings that read it back."""
    data_dir = Path(data_dir)
    definitions = outcomes.load_definitions()
    stacked = evaluate.load_surveys(data_dir, evaluate.phase_rounds(phase), plan.units())
    replication = {"replicates": replicates, "seed": seed} if method == "bootstrap" else {}
    design = evaluate.survey_design(stacked, evaluate.calibration_settings(data_dir), method, **replication)
    design = outcomes.with_indicators(design, definitions)
    breakdowns = [b for b in evaluate.evaluation_settings()["breakdowns"] if b in design.data]
    answers, pooled = {}, {}
    for code, spec in definitions.iterrows():
        _, universe, answer = outcomes.for_indicator(design, spec)
        answers[code] = design.data[answer].where(design.data[universe].fillna(0).astype(bool))
    for column in breakdowns:
        answers[column], pooled[column] = _pooled(design.data[column])
    released = design.assign(round=design.data["round"].astype(str), **answers)
    table, settings = replicate_file.replicate_table(
        released, ["round", "project", *breakdowns, *definitions.index], seed
    )
    about = {
        "phase": phase,
        "rounds": evaluate.phase_rounds(phase),
        "indicators": {code: spec.get("name_en", code) for code, spec in definitions.iterrows()},
        "pooled_levels": pooled,
        "min_count": MIN_COUNT,
    }
    return table, {**about, **settings}


def _pooled(values: pd.Series) -> tuple[pd.Series, int]:
    """Levels held by fewer than ``MIN_COUNT`` rows as ``POOLED``, and how many levels."""
    text = values.astype("string")
    counts = text.value_counts()
    rare = counts.index[counts < MIN_COUNT]
    return text.where(~text.isin(rare), POOLED), len(rare)


def write_release(table: pd.DataFrame, settings: dict, out: Path) -> Path:
    """The release as ``<out>/survey-<phase>.csv`` and its sidecar ``.yaml``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    about = {k: settings[k] for k in ("phase", "rounds", "indicators", "pooled_levels", "min_count")}
    rest = {k: v for k, v in settings.items() if k not in about}
    return replicate_file.write(table, rest, out / f"survey-{settings['phase']}.csv", about)

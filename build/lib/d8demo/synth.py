"""The deterministic synthetic dataset of Project 8 in a province: villages, registers,
district submissions, surveys of women 15-49 and the truth they were drawn from.

``generate(out, seed, scale)`` writes the dataset; the same seed gives the same bytes.
Everything is drawn from the plan and the unit tables, so another province's files
give another province's dataset. The numbers that shape it (baseline levels by
ethnic group, true effects, sample sizes) are in ``data/synth.yaml``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import yaml

from d8demo.draws import stream
from d8demo.population import demo_codebook, population_totals, survey, truth, villages
from d8demo.registers import registers
from d8demo.submissions import milestone_answers, submissions
from d8lib.core.paths import DATA_DIR
from d8lib.plan.model import Plan, load_plan

DEFAULT_SETTINGS = DATA_DIR / "synth.yaml"
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
    frame = villages(units, settings, stream(seed, "villages"))
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
    tables = registers(plan, frame, settings, stream(seed, "registers"), cutoff)
    for name, table in tables.items():
        _write_csv(table, out / "registers" / f"{name}.csv")
    answers = milestone_answers(plan, settings, stream(seed, "milestones"))
    inbox = submissions(plan, tables, settings, stream(seed, "submissions"), out / "submissions", answers)
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

"""A synthetic national dataset of Project 8: one folder per province, each with its
plan, unit tables and data, as ``d8 national run`` reads it.

Lào Cai keeps Plan 355 and its demo settings. Every other province gets its real unit
tables (``data/units/<code>``, built from the published packages as Lào Cai's) and a
plan shaped like Plan 355, marked synthetic: the same indicators, milestones and
timelines, counts scaled by the province's number of communes against Lào Cai's and
allocated to its districts by their communes; its demo settings are Lào Cai's, laid
over its districts in turn. The same seed gives the same bytes.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pandas as pd
import yaml

from d8demo import synth
from d8demo.draws import allocate
from d8lib.core.paths import DATA_DIR
from d8lib.plan.model import load_plan
from d8lib.units.registry import Units, load_units

# Provinces with ethnic-minority areas whose unit tables are in data/units, Lào Cai first.
PROVINCES = ["10", "04", "11", "12", "06"]
# What d8 synth writes for Lào Cai at the demo's seed and scale, committed (tests/test_synth.py
# holds it to the generator's bytes): copied, not written again, where it is at hand.
COMMITTED_DEMO = DATA_DIR / "demo"
FILE = "national.yaml"


def _districts(units: Units) -> pd.DataFrame:
    districts = units.at_level("district")[["code", "name"]]
    communes = units.at_level("commune").groupby("parent_code").size()
    return districts.assign(communes=districts.code.map(communes).fillna(0).astype(int))


def synthetic_plan(base: dict, units: Units) -> dict:
    """Plan 355 laid over another province: counts scaled by communes, allocated to its
    districts by their communes (largest remainders), marked synthetic."""
    plan = copy.deepcopy(base)
    province = units.at_level("province").iloc[0]
    districts = _districts(units)
    ratio = districts.communes.sum() / len(load_plan().units().at_level("commune"))
    counts = {i["code"] for i in plan["indicators"] if i["measure"] == "count"}

    def scaled(code: str, value):
        return max(1, round(value * ratio)) if code in counts else value

    plan["meta"].update(
        number=f"{plan['meta']['number']} (mô phỏng / synthetic)",
        province={"code": str(province.code), "name": province["name"]},
        synthetic=True,
        signer="(mô phỏng / synthetic)",
        title_vi="Kế hoạch mô phỏng theo Kế hoạch 355/KH-UBND (dữ liệu mô phỏng)",
        title_en="A synthetic plan shaped like Plan 355/KH-UBND (synthetic data)",
    )
    plan["units"] = "units"
    for target in plan["targets"]:
        code = target["indicator"]
        target["target"] = scaled(code, target["target"])
        for statement in target.get("statements", []):
            statement["value"] = scaled(code, statement["value"])
        for name, reading in (target.get("readings") or {}).items():
            if name != "chosen":
                reading["target"] = scaled(code, reading["target"])
    allocation = plan["allocation"]
    totals = [scaled(code, v) for code, v in zip(allocation["indicators"], allocation["province"]["values"])]
    weights = districts.set_index("code").communes.clip(lower=1)
    shares = [allocate(total, weights) for total in totals]
    allocation["province"]["values"] = totals
    allocation["districts"] = [
        {"row": k + 1, "unit": code, "name": districts.name.iloc[k], "values": [int(s[code]) for s in shares]}
        for k, code in enumerate(districts.code)
    ]
    return plan


def province_settings(base: dict, units: Units) -> dict:
    """Lào Cai's demo settings laid over another province's districts, in turn; its
    files come on time, each as the form, and its zones keep Lào Cai's proportions."""
    settings = copy.deepcopy(base)
    lao_cai = sorted(settings["district_remoteness"])
    districts = _districts(units).code.tolist()
    source = {d: lao_cai[k % len(lao_cai)] for k, d in enumerate(districts)}
    for key in ("district_remoteness", "ethnic_shares", "district_pace"):
        settings[key] = {d: settings[key][source[d]] for d in districts}
    ratio = len(units.at_level("commune")) / len(load_plan().units().at_level("commune"))
    settings["zones"] = {zone: round(count * ratio) for zone, count in base["zones"].items()}
    settings["border_communes"] = {}
    settings["survivors"] = round(base["survivors"] * ratio)
    submissions = settings["submissions"]
    submissions.update(
        styles={d: {"format": "form"} for d in districts},
        late={},
        missing=[],
        by_new_commune=[],
        resubmission=dict(submissions["resubmission"], district=None),
        rejected=dict(submissions["rejected"], district=None),
    )
    return settings


def generate_national(out: str | Path, provinces: int, seed: int | None = None, scale: int = 1) -> Path:
    """Write ``provinces`` provinces (Lào Cai first) to ``out``: ``national.yaml`` and one
    folder per province with ``plan.yaml``, ``units/`` and its data."""
    if not 1 <= provinces <= len(PROVINCES):
        raise ValueError(
            f"Có dữ liệu đơn vị cho {len(PROVINCES)} tỉnh / Unit tables are at hand for {len(PROVINCES)} provinces "
            f"({', '.join(PROVINCES)}): --national 1 to {len(PROVINCES)}"
        )
    out = Path(out)
    settings = synth.load_settings()
    seed = settings["seed"] if seed is None else seed
    base = yaml.safe_load(load_plan().path.read_text(encoding="utf-8"))
    chosen = PROVINCES[:provinces]
    for code in chosen:
        folder = out / "provinces" / code
        shutil.copytree(DATA_DIR / "units" / code, folder / "units", dirs_exist_ok=True)
        units = load_units(folder / "units")
        plan_data = dict(copy.deepcopy(base), units="units") if code == "10" else synthetic_plan(base, units)
        (folder / "plan.yaml").write_text(
            "# Written by d8 synth --national."
            + (
                " Plan 355/KH-UBND of Lào Cai.\n"
                if code == "10"
                else " SYNTHETIC: shaped like Plan 355, not a real plan.\n"
            )
            + yaml.safe_dump(plan_data, allow_unicode=True, sort_keys=False, width=120),
            encoding="utf-8",
        )
        plan = load_plan(folder / "plan.yaml")
        if code == "10" and seed == settings["seed"] and scale == 1 and (COMMITTED_DEMO / "inbox.csv").is_file():
            shutil.copytree(COMMITTED_DEMO, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("store"))
            continue
        own = settings if code == "10" else province_settings(settings, units)
        synth.generate(folder, seed=seed if code == "10" else seed + int(code), scale=scale, plan=plan, settings=own)
    (out / FILE).write_text(
        "# A national dataset written by d8 synth --national: one folder per province under provinces/.\n"
        + yaml.safe_dump({"synthetic": True, "provinces": chosen}, sort_keys=False),
        encoding="utf-8",
    )
    return out

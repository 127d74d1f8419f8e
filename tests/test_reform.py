"""Reporting after the 2025 reform: the new communes report, their figures count in the
old district they were formed from, or in the province's total only when they span
two; an old district and its new communes never report the same round twice."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest
from helpers import d8_run, long_table
from test_reports import parse

from d8lib.core.paths import DATA_DIR
from d8lib.intake import forms
from d8lib.intake.store import Store
from d8lib.intake.submissions import intake
from d8lib.ops.runner import select_units
from d8lib.reports import evaluate
from d8lib.units import reform

# From the crosswalk (data/units/10): Xã Si Ma Cai (02809) is formed from communes of
# Si Ma Cai district (084) only; Xã Lùng Phình (02848) from communes of Si Ma Cai and
# Bắc Hà (085).
WHOLE, SPANNING = "02809", "02848"
SILENT = "02647"  # Phường Lào Cai: no report in the demo


def commune_form(plan, unit, period, path, values):
    forms.write_template(plan, unit, period, path)
    return forms.fill(path, values, f"05/09/{period[:4]}")


def test_the_crosswalk_gives_each_new_commune_its_old_districts(plan):
    communes = reform.new_communes(plan.units()).set_index("unit")
    assert len(communes) == 48 and communes.spans.sum() == 5
    assert communes.districts[WHOLE] == ("084",) and communes.districts[SPANNING] == ("084", "085")
    assert reform.overlapping(plan.units(), SPANNING) == {"084", "085"}
    assert {WHOLE, SPANNING} <= reform.overlapping(plan.units(), "084")


def test_new_communes_report_after_the_reform_only(plan, tmp_path):
    store = Store(tmp_path / "store")
    with pytest.raises(ValueError, match="01/07/2025"):
        forms.write_template(plan, WHOLE, "2024-final", tmp_path / "early.xlsx")
    early = long_table(
        tmp_path / "early.csv", [{"district": "Xã Si Ma Cai", "period": "2024-final", "indicator": "O1", "value": 3}]
    )
    result = intake([early], store, plan, plan.units())[0]
    assert result.status == "rejected" and [p.code for p in result.problems] == ["before_reform"]
    form = commune_form(plan, WHOLE, "2025", tmp_path / "ok.xlsx", {"O1": {"value": 7}})
    assert intake([form], store, plan, plan.units())[0].status == "accepted"
    assert store.values().district.tolist() == [WHOLE]


def test_a_round_is_reported_by_the_old_district_or_by_its_new_communes_never_both(plan, tmp_path):
    store = Store(tmp_path / "store")
    district = long_table(
        tmp_path / "d.csv", [{"district": "Si Ma Cai", "period": "2025", "indicator": "O1", "value": 20}]
    )
    assert intake([district], store, plan, plan.units())[0].status == "accepted"
    result = intake(
        [commune_form(plan, SPANNING, "2025", tmp_path / "c.xlsx", {"O1": {"value": 2}})], store, plan, plan.units()
    )[0]
    assert result.status == "rejected" and [p.code for p in result.problems] == ["reported_twice"]
    later = commune_form(plan, SPANNING, "2025-final", tmp_path / "c2.xlsx", {"O1": {"value": 2}})
    assert intake([later], store, plan, plan.units())[0].status == "accepted"  # another round is free
    again = long_table(
        tmp_path / "d2.csv", [{"district": "Bắc Hà", "period": "2025-final", "indicator": "O1", "value": 9}]
    )
    result = intake([again], store, plan, plan.units())[0]
    assert result.status == "rejected" and "02848" in result.problems[0].message_en


def test_figures_count_in_the_old_district_or_in_the_province_only(plan, tmp_path):
    store = Store(tmp_path / "store")
    rows = [
        {"district": "Si Ma Cai", "period": "2024-final", "indicator": "O1", "value": 20},
        {"district": "Bắc Hà", "period": "2024-final", "indicator": "O1", "value": 50},
        {"district": "Si Ma Cai", "period": "2024-final", "indicator": "O8", "value": 4},
    ]
    assert intake([long_table(tmp_path / "2024.csv", rows)], store, plan, plan.units())[0].status == "accepted"
    for unit, teams, dialogues in ((WHOLE, 12, 3), (SPANNING, 5, 1), ("02824", 9, 2)):  # 02824: within 084
        form = commune_form(
            plan, unit, "2025", tmp_path / f"{unit}.xlsx", {"O1": {"value": teams}, "O8": {"value": dialogues}}
        )
        assert intake([form], store, plan, plan.units())[0].status == "accepted"
    bundle = evaluate.build(plan, None, store, "endline", dt.date(2025, 12, 31))
    achieved = bundle.progress.set_index(["unit", "indicator"]).achieved
    # O1 is a stock: Si Ma Cai's 2025 figure is its two whole new communes' (12 + 9), not
    # the spanning one's; O8 is a flow: 4 in 2024 + 3 + 2 in 2025.
    assert achieved["084", "O1"] == 12 + 9 and achieved["084", "O8"] == 4 + 3 + 2
    assert achieved["085", "O1"] == 50  # Bắc Hà's new communes did not report 2025: its 2024 stock stands
    assert achieved["10", "O1"] == 12 + 9 + 5 + 50 and achieved["10", "O8"] == 4 + 3 + 1 + 2
    assert achieved[SPANNING, "O1"] == 5 and pd.isna(
        bundle.progress.set_index(["unit", "indicator"]).target[SPANNING, "O1"]
    )
    complete = bundle.completeness.set_index(["district", "period"])
    assert complete.received["084", "2025"] and complete.resubmissions["084", "2025"] == 0
    units = bundle.units.set_index("unit")
    assert units.old_districts[SPANNING] == "084;085" and units.level[WHOLE] == "commune_2025"


def test_communes_2025_chooses_the_province_and_every_new_commune(plan):
    chosen = select_units(plan, "communes-2025")
    assert chosen[0] == plan.province and len(chosen) == 49
    assert select_units(plan, "Lùng Phình,province") == [SPANNING, plan.province]


@pytest.mark.slow
@pytest.mark.parametrize("lang, survey", [("vi", True), ("en", False)])
def test_a_review_by_new_commune_runs_from_the_command_line(tmp_path, lang, survey):
    """With a survey, every new commune has the model-based estimates of the latest
    round fielded by the review's date (the endline of 2025), so a commune that sent
    nothing still has a report; without one, such a commune gets no empty report."""
    data = DATA_DIR / "demo"
    if not survey:  # the demo's submissions without its survey
        data = tmp_path / "data"
        shutil.copytree(DATA_DIR / "demo" / "submissions", data / "submissions")
        shutil.copy(DATA_DIR / "demo" / "inbox.csv", data)
    out = tmp_path / "outputs"
    units = f"10,{SPANNING},02839,{SILENT}"
    manifest = d8_run("--review", "2025", "--units", units, "--lang", lang, "--data", str(data), "--out", str(out))
    assert manifest["units"] == ["10", SPANNING, "02839", SILENT] and manifest["status"] == "ok"
    silent = next(r for r in manifest["reports"] if r["unit"] == SILENT)
    province = parse(out / "latest" / "10-tinh-lao-cai.html")
    if survey:
        assert silent["status"] == "ok"
        page = parse(out / "latest" / silent["html"])
        estimates = page.tables["xa-mo-hinh"]
        assert {row[0] for row in estimates[1:]} == {"H1", "H3", "H7", "H8"} and "tien-do" not in page.tables
        assert "vòng khảo sát cuối kỳ năm 2025" in (out / "latest" / silent["html"]).read_text(encoding="utf-8")
        assert "xa-mo-hinh" in province.tables
    else:  # the index lists it as having nothing to report
        assert silent["status"] == "empty" and not silent["html"] and not list((out / "latest").glob(f"{SILENT}-*"))
        index = (out / "latest" / "index.html").read_text(encoding="utf-8")
        assert "Nothing to report" in index and "xa-mo-hinh" not in province.tables
    communes = {row[0]: row for row in province.tables["xa-moi"][1:]}
    assert len(communes) == 8  # the new communes of the demo's two former districts that reported
    assert ("Chỉ tổng của tỉnh" if lang == "vi" else "province's total only") in communes[SPANNING][3]
    spanning = parse(out / "latest" / f"{SPANNING}-xa-lung-phinh.html")
    assert "O1" in {row[0] for row in spanning.tables["tien-do"]} and "moc-hoat-dong" in spanning.tables

"""The plan as data: Plan 355/KH-UBND against its source text, checks, a second province."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
import yaml
from helpers import ROOT, TEST_DATA
from plan_text import obligations

from d8lib.plan import PlanError, load_plan
from d8lib.units import resolve

HEADLINE = {
    "O1": 423,
    "O2": 140,
    "O3": 85,
    "O6": 24,
    "O7": 48,
    "O8": 210,
    "O9": 85,
    "O11": 28,
    "O12.2": 24,
    "O12.3": 75,
}


def appendix_01(text: str) -> pd.DataFrame:
    """Appendix 01 parsed from the plan's text: one row per district, ten columns."""
    section = text[text.index("PHỤ LỤC 01") : text.index("PHỤ LỤC 2")]
    rows = re.findall(r"^(\d) \| ([^|]+?) \| ((?:\d+ \| ){9}\d+) \|$", section, flags=re.MULTILINE)
    return pd.DataFrame(
        [[name] + [int(v) for v in values.split(" | ")] for _, name, values in rows], columns=["name"] + list(HEADLINE)
    )


def test_targets_reproduce_appendix_01(plan, plan_text):
    expected = appendix_01(plan_text)
    assert len(expected) == 9
    for row in expected.itertuples(index=False):
        unit = resolve(row.name, level="district")
        got = plan.targets[plan.targets.unit == unit].set_index("indicator").target
        assert {k: got[k] for k in HEADLINE} == dict(zip(HEADLINE, row[1:])), row.name
    assert len(plan.targets[plan.targets.unit != "10"]) == 90


def test_province_targets_match_the_headline_list(plan):
    province = plan.targets[plan.targets.unit == "10"].set_index("indicator").target
    assert {k: province[k] for k in HEADLINE} == HEADLINE
    assert plan.targets.columns[:3].tolist() == ["indicator", "unit", "target"]
    assert set(plan.targets.unit) == {"10", "080", "082", "083", "084", "085", "086", "087", "088", "089"}


def test_other_targets_are_held(plan):
    province = plan.targets[plan.targets.unit == "10"].set_index("indicator")
    assert province.target[["O1.1", "O2.1", "O8.1", "O9.1"]].tolist() == [47, 12, 9, 18]
    assert province.target[["O4", "O5", "O7.1"]].tolist() == [15, 15, 100]
    assert province.loc["O10", ["target", "comparator"]].tolist() == [100, ">="]
    assert province.target["O1.2"] == 423 and province.target["O13"] == 2
    assert province.loc["O1.3", "recurring"] == "quarterly"
    assert province.loc["O8", "complete"].isoformat() == "2025-06-30"  # "muộn nhất vào quý II/2025"
    assert province.loc["O2", "start"].isoformat() == "2023-01-01"
    assert province.loc["O11", "complete"].isoformat() == "2023-12-31"


def test_every_statement_has_a_source_and_stands_in_the_text(plan, plan_text):
    assert plan.statements.source.str.len().gt(0).all()
    assert plan.targets.source.str.len().gt(0).all() and plan.targets.timeline_source.str.len().gt(0).all()
    numbers = set(re.findall(r"\d+", plan_text))
    for s in plan.statements.itertuples():
        assert str(s.value) in numbers or f"{s.value:02d}" in numbers, s


def test_metadata_structure_and_deadlines(plan):
    assert plan.meta["number"] == "355/KH-UBND" and plan.meta["signer"] == "Giàng Thị Dung"
    assert plan.meta["date"].isoformat() == "2022-10-24"
    assert [d.isoformat() for d in plan.phase] == ["2021-01-01", "2025-12-31"]
    assert plan.content_areas.code.tolist() == ["ND1", "ND2", "ND3", "ND4"]
    assert len(plan.activities) == 14 and len(plan.agencies) == 12
    assert plan.agencies.role.eq("lead").sum() == 1
    assert plan.rounds.period.tolist()[0] == "2022-final"  # 10/9/2022 came before the plan (24/10/2022)
    rounds = plan.rounds.set_index("period").deadline
    assert rounds["2023"].isoformat() == "2023-09-10" and rounds["2023-final"].isoformat() == "2024-01-25"
    indicators = plan.indicators.set_index("code")
    assert indicators.loc["O1", "aggregation"] == "cumulative" and indicators.loc["O8", "aggregation"] == "additive"
    assert indicators.loc["O4", ["numerator", "denominator"]].tolist() == ["members_linked_finance", "members"]
    assert indicators.name_en.str.len().gt(0).all() and indicators.name_vi.str.len().gt(0).all()


def test_check_reports_the_two_contradictions_and_the_target_that_reads_two_ways(plan):
    findings = plan.check()
    assert [f.severity for f in findings] == ["warning", "warning", "warning"]
    gals, monitoring, cadres = findings
    assert "O10" in cadres.message and "(1) 100 (" in cadres.message and "(2) 400 (" in cadres.message
    assert "Mục III.1, gạch đầu dòng 7" in cadres.source and "ND3, HĐ4, dòng 1" in cadres.source
    assert "Progress follows reading (1)" in cadres.message_en and "over_phase" not in cadres.message_en
    assert cadres.hint == "readings.chosen: over_phase (over_phase, per_year)"
    assert "O3" in gals.message and "85" in gals.message and "63" in gals.message and "III.2.2.1" in gals.source
    assert "O11" in monitoring.message_en and "23" in monitoring.message and "ND3, HĐ3" in monitoring.source


def _edited_plan(tmp_path, edit):
    data = yaml.safe_load((ROOT / "data/plans/lao-cai-355.yaml").read_text(encoding="utf-8"))
    edit(data)
    data["units"] = str(ROOT / "data/units/10")
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_plan(path)


def test_allocation_that_does_not_add_up_is_an_error(tmp_path):
    def edit(data):
        data["allocation"]["districts"][0]["values"][0] = 30  # Si Ma Cai teams: 29 in the plan

    errors = [f for f in _edited_plan(tmp_path, edit).check() if f.severity == "error"]
    assert len(errors) == 1
    assert "424" in errors[0].message and "423" in errors[0].message and errors[0].source.endswith("cột 1")


def test_timeline_outside_the_phase_is_an_error(tmp_path):
    def edit(data):
        data["targets"][0]["timeline"]["complete"] = "2026-06-30"

    errors = [f for f in _edited_plan(tmp_path, edit).check() if f.severity == "error"]
    assert len(errors) == 1 and "O1" in errors[0].message_en and "2026-06-30" in errors[0].message


def test_unknown_district_in_the_allocation_is_an_error(tmp_path):
    def edit(data):
        data["allocation"]["districts"][0]["name"] = "Huyện Không Có"

    errors = [f for f in _edited_plan(tmp_path, edit).check() if f.severity == "error"]
    assert len(errors) == 1 and "Không Có" in errors[0].message


def test_unreadable_plan_raises(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("meta: [unclosed", encoding="utf-8")
    with pytest.raises(PlanError, match="bad.yaml"):
        load_plan(bad)


def test_second_province_end_to_end(tmp_path):
    folder = tmp_path / "province"
    shutil.copytree(TEST_DATA / "province-11", folder)
    plan = load_plan(folder / "plan.yaml")
    assert plan.province == "11" and plan.check() == []
    assert plan.districts.unit.tolist() == ["094", "095", "096"]
    t = plan.targets.set_index(["indicator", "unit"]).target
    assert t["T1", "11"] == 30 and t["T1", "096"] == 20 and t["T2", "095"] == 2 and t["T3", "11"] == 20
    assert ("T3", "094") not in t.index
    assert plan.units().resolve("Muong Nhe", level="district") == "096"
    assert plan.rounds.period.tolist() == ["2023", "2024", "2025"]


def test_no_province_names_in_the_library_code(plan):
    from d8lib.core.text import ascii_key

    names = plan.units().table.query("level in ['province', 'district']").name
    bare = {ascii_key(n.split(" ", 1)[1]) if n.startswith(("Huyện", "Tỉnh")) else ascii_key(n) for n in names}
    bare |= {ascii_key(n.replace("Thành phố ", "").replace("Thị xã ", "")) for n in names}
    code = " ".join(ascii_key(p.read_text(encoding="utf-8")) for p in (ROOT / "d8lib").glob("*.py"))
    assert not [n for n in bare if n in code]


def test_the_reading_chosen_in_the_plan_file_sets_the_target_progress_follows(tmp_path):
    def per_year(data):
        cadres = next(t for t in data["targets"] if t["indicator"] == "O10")
        cadres["readings"]["chosen"] = "per_year"

    edited = _edited_plan(tmp_path, per_year)
    row = edited.targets[(edited.targets.indicator == "O10") & (edited.targets.unit == edited.province)].iloc[0]
    assert row.target == 400 and row.years == [2022, 2023, 2024, 2025]
    assert "Progress follows reading (2)" in next(f for f in edited.check() if "O10" in f.message).message_en


def test_every_line_that_asks_for_something_has_a_place_in_the_plan_file(plan, plan_text):
    placed = plan.references.groupby("source").kind.agg(set)
    lines = obligations(plan_text)
    # Counted by hand: I 7 bullets, II 3 paragraphs, III.1 10, III.2-III.3.4 31, IV 3 paragraphs,
    # V 22, Appendix 02 33 rows and one activity without rows (ND1, HĐ4).
    assert len(lines) == 7 + 3 + 10 + 31 + 3 + 22 + 34
    assert (45, "Mục III.2.1.2, gạch đầu dòng 2") in lines and (159, "Phụ lục 02, ND1, HĐ4") in lines
    unplaced = [f"dòng {n}: {reference}" for n, reference in lines if reference not in placed.index]
    assert unplaced == []
    judged = plan.references[plan.references.kind == "not_reportable"]
    assert len(judged) <= 12 and judged.code.str.contains(" / ").all()  # short, each with its reason in both languages
    assert not (placed.map(len).gt(1) & placed.map(lambda kinds: "not_reportable" in kinds)).any()


def test_every_place_the_plan_file_names_is_a_line_of_the_plan(plan, plan_text):
    lines = {reference for _, reference in obligations(plan_text)}
    named = set(plan.references.source)
    assert named - lines == set()


def test_milestones_carry_owner_agency_due_dates_and_source(plan):
    milestones = plan.milestones.set_index("code")
    assert len(milestones) >= 20 and milestones.source.str.len().gt(0).all()
    assert set(milestones.reported_by) == {"province", "districts", "both"}
    assert set(milestones.agency) <= set(plan.agencies.code)
    due = plan.occurrences.set_index(["milestone", "year"]).due
    assert due["M1", 2023].isoformat() == "2023-12-15"  # the month of action ends on 15/12
    assert [y for m, y in due.index if m == "M6"] == [2023, 2024]  # contests "2023, 2024"
    assert due["M22", 2024].isoformat() == "2023-12-31"  # the year's plan comes before the year
    assert milestones.loc["M11", "counts"] == "survivors" and milestones.loc["M11", "reported_by"] == "districts"
    assert not milestones.loc["M8", "dated"] and milestones.loc["M8", "agency"] == "DOH"
    assert plan.priority_groups.code.tolist() == ["P1", "P2", "P3", "P4"]

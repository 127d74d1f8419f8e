"""A second province's plan whose targets are set for the province only (no allocation to
districts, no milestones), walked through every command as a new user would: named
answers, never a traceback; reports without empty charts or header-only tables and
without a word of Plan 355 or Lào Cai."""

from __future__ import annotations

import html
import re
import shutil

import pytest
import yaml
from helpers import TEST_DATA, d8
from openpyxl import load_workbook

from d8lib.intake.forms import fill, write_template
from d8lib.plan.model import load_plan

# What each district reports: T1 teams (a stock) per year, T2 dialogues in the year,
# T3 members trained out of members.
REPORTED = {
    "094": {"T1": {2023: 3, 2024: 6}, "T2": 1, "T3": (10, 20)},
    "095": {"T1": {2023: 2, 2024: 4}, "T2": 1, "T3": (5, 10)},
    "096": {"T1": {2023: 9, 2024: 18}, "T2": 3, "T3": (12, 30)},
}
ANOTHER_PLAN = ("355", "Lào Cai", "Lao Cai", "Phụ lục 01", "Appendix 01", "H'Mông", "Yên Bái")


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The plan, its unit tables, the districts' filled forms and a data folder with
    them taken in."""
    folder = tmp_path_factory.mktemp("province")
    shutil.copytree(TEST_DATA / "province-11", folder, dirs_exist_ok=True)
    data = yaml.safe_load((folder / "plan.yaml").read_text(encoding="utf-8"))
    del data["allocation"]
    (folder / "plan.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    plan = load_plan(folder / "plan.yaml")
    forms = []
    for district, values in REPORTED.items():
        for year in (2023, 2024):
            numerator, denominator = values["T3"]
            path = write_template(plan, district, str(year), folder / "forms" / f"{district}-{year}.xlsx")
            figures = {
                "T1": {"value": values["T1"][year]},
                "T2": {"value": values["T2"]},
                "T3": {"numerator": numerator, "denominator": denominator},
            }
            forms.append(fill(path, figures, sent=f"01/12/{year}"))
    return {"folder": folder, "plan": folder / "plan.yaml", "forms": forms}


def _named(result, code: int) -> None:
    said = result.stdout + result.stderr
    assert result.returncode == code, said
    assert "Traceback" not in said and " / " in said, said


def test_the_plan_is_accepted_and_its_districts_come_from_its_unit_tables(province):
    result = d8("plan", "check", str(province["plan"]))
    _named(result, 0)
    said = dict(line.strip().split(": ", 1) for line in result.stdout.splitlines() if line.startswith("  d8 "))
    assert said["d8 template --district"] == said["d8 intake"] == said["d8 run --review"] == "sẵn sàng / ready"
    assert "lacks an indicator (reported_by: province)" in said["d8 template --province"]
    plan = load_plan(province["plan"])
    assert plan.districts.unit.tolist() == ["094", "095", "096"] and plan.milestones.empty


def test_every_form_is_written_or_refused_by_name(province, tmp_path):
    plan = str(province["plan"])
    for district in ("094", "Mường Nhé", "TX Muong Lay"):
        result = d8(
            "template", "--district", district, "--period", "2024", "--plan", plan, "--out", str(tmp_path / "f.xlsx")
        )
        _named(result, 0)
        sheet = load_workbook(tmp_path / "f.xlsx")["Mốc hoạt động"]
        assert sheet.max_row == 2 and "No milestone" in sheet["A2"].value  # a sentence, not a table of headers
    result = d8("template", "--province", "--period", "2024", "--plan", plan, "--out", str(tmp_path / "p.xlsx"))
    _named(result, 1)  # nothing is reported by the province itself under this plan
    assert "reported_by: province" in result.stderr and not (tmp_path / "p.xlsx").exists()
    _named(d8("template", "--district", "Tủa Chùa", "--period", "2024", "--plan", plan), 1)
    _named(d8("template", "--district", "094", "--period", "2022", "--plan", plan), 1)


def test_a_form_taken_in_without_its_plan_is_refused_once_naming_its_plan(province, tmp_path):
    result = d8("intake", str(province["forms"][0]), "--store", str(tmp_path / "store"))
    _named(result, 1)
    assert result.stdout.count("LỖI/ERROR") == 1 and "1/KH-TEST" in result.stdout and "--plan" in result.stdout


def _text(page: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def _read_outputs(out) -> dict:
    pages = {p.name: p.read_text(encoding="utf-8") for p in (out / "latest").glob("*.html")}
    for page in pages.values():
        text = _text(page)
        assert not [w for w in ANOTHER_PLAN if w in text], text
        assert "Traceback" not in text and "Warning" not in text
        for table in re.findall(r"<tbody[^>]*>(.*?)</tbody>", page, flags=re.S):
            assert "<tr" in table  # no table of headers only
    for book in (out / "latest").glob("*.xlsx"):
        for sheet in load_workbook(book).worksheets:
            words = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
            assert not [w for w in ANOTHER_PLAN if w in words], (book.name, sheet.title)
    return pages


def test_reviews_and_evaluations_run_for_the_province_and_its_districts(province, tmp_path):
    data = tmp_path / "data"
    result = d8("intake", *map(str, province["forms"]), "--store", str(data / "store"), "--plan", str(province["plan"]))
    _named(result, 0)
    plan = str(province["plan"])
    _named(
        d8("run", "--review", "2024", "--plan", plan, "--data", str(data), "--out", str(tmp_path / "r"), "--jobs", "2"),
        0,
    )
    pages = _read_outputs(tmp_path / "r")
    assert len(pages) == 5  # the index, the province, three districts
    province_page = _text(pages["11-tinh-dien-bien.html"])
    # By hand: T1, a stock, is the sum of the districts' 2024 values 6 + 4 + 18 = 28 of 30;
    # T2, a flow, sums both years (1 + 1 + 3) × 2 = 10 of 12; T3 = (10 + 5 + 12) / (20 + 10 + 30) = 45%.
    # (code, name, status, then target, achieved, percent of target)
    assert re.search(r"T1 Tổ truyền thông \D+ 30 28 93 ", province_page), province_page
    assert re.search(r"T2 Cuộc đối thoại \D+ 12 10 83 ", province_page)
    assert re.search(r"T3 Tỷ lệ thành viên được tập huấn \D+ 20 45 225 ", province_page)
    assert "Tỷ lệ hoàn thành chỉ tiêu theo huyện" not in province_page  # no district targets: no heatmap
    assert "Kế hoạch không có mốc hoạt động nào" in province_page
    # A district without a target of its own shows what it did.
    district = _text(pages["096-huyen-muong-nhe.html"])
    assert re.search(r"T1 Tổ truyền thông Không có chỉ tiêu riêng – 18 ", district), district
    assert pages["index.html"].count("<img") == 0
    one = tmp_path / "one"
    _named(
        d8("run", "--review", "2024", "--plan", plan, "--data", str(data), "--out", str(one), "--units", "Mường Nhé"), 0
    )
    assert {p.name for p in (one / "latest").glob("*.html")} == {"index.html", "096-huyen-muong-nhe.html"}
    _named(d8("run", "--review", "2022", "--plan", plan, "--data", str(data), "--out", str(tmp_path / "x")), 2)
    evaluation = tmp_path / "e"
    _named(
        d8("run", "--phase", "midterm", "--plan", plan, "--data", str(data), "--out", str(evaluation), "--lang", "en"),
        0,
    )
    page = _text(_read_outputs(evaluation)["11-tinh-dien-bien.html"])
    assert "There are no survey data for this evaluation yet" in page and "Methods annex" not in page


def test_the_methods_annex_describes_the_design_that_was_used_and_names_any_ethnic_group():
    from d8lib.reports.sections import design_text, group_name

    plain = design_text({"calibration": "", "repeated_villages": 0}, "en")
    assert "calibrated" not in plain and "15-49" not in plain and "several rounds" not in plain
    raked = design_text(
        {"calibration": "linear", "calibration_margins": [["commune", "age_group"]], "repeated_villages": 12}
    )
    assert "hiệu chỉnh (tuyến tính, GREG) theo tổng dân số theo xã × nhóm tuổi" in raked and "12 thôn" in raked
    assert group_name("ethnicity", "Xơ Đăng", "en") == "Xo Dang" and group_name("ethnicity", "Xơ Đăng") == "Xơ Đăng"
    assert group_name("ethnicity", "other", "en") == "Other groups"

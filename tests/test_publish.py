"""Disclosure control, labels and the Excel twin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import ROOT
from openpyxl import load_workbook

from d8lib.core import labels
from d8lib.plan.model import PEOPLE
from d8lib.reports import disclosure, excel, formats


def test_persons_are_withheld_so_that_no_subtraction_within_or_across_reports_finds_a_small_cell():
    # District A: 3 men, and 2 persons who are not ethnic minority (40 - 38); B is large.
    people = pd.DataFrame(
        {
            "unit": ["A", "B", "P"],
            "indicator": "O8",
            "people": [40, 30, 70],
            "female": [37, 18, 55],
            "male": [3, 12, 15],
            "ethnic_minority": [38, 20, 58],
        }
    )
    shown = disclosure.protect_people(people, province="P").people.set_index("unit")
    # Worked by hand: A's men and their complement (women); A's ethnic-minority count, so
    # that 40 - 38 cannot be taken; then in B the cells that would give A's back from the
    # province's totals (15 - 12 = 3 men, 58 - 20 = 38), and B's women with B's men.
    assert shown.loc["A", ["female", "male", "ethnic_minority"]].isna().all() and shown.loc["A", "people"] == 40
    assert shown.loc["B", ["female", "male", "ethnic_minority"]].isna().all() and shown.loc["B", "people"] == 30
    assert shown.loc["P"].drop("indicator").tolist() == [70, 55, 15, 58]


def test_a_small_group_is_not_named_and_cannot_be_found_from_the_province_or_the_total():
    outcomes = pd.DataFrame({"unit": ["A", "B", "P"], "round": "endline", "indicator": "H5", "n": [228, 100, 328]})
    breakdowns = pd.DataFrame(
        {
            "unit": ["A", "A", "B", "B", "P", "P"],
            "round": "endline",
            "indicator": "H5",
            "dimension": "ethnicity",
            "group": ["Kinh", "Hà Nhì"] * 3,
            "n": [227, 1, 60, 40, 287, 41],
        }
    )
    outcomes, breakdowns, _ = disclosure.protect_respondents(outcomes, breakdowns, province="P")
    withheld = dict(zip(zip(breakdowns.unit, breakdowns.group), breakdowns.n_withheld))
    # 228 - 227 = 1 in A; 41 - 40 = 1 across the reports; then B's other group with it.
    assert withheld == {
        ("A", "Kinh"): True,
        ("A", "Hà Nhì"): True,
        ("B", "Kinh"): True,
        ("B", "Hà Nhì"): True,
        ("P", "Kinh"): False,
        ("P", "Hà Nhì"): False,
    }
    assert breakdowns.small_group.tolist() == [False, True, False, False, False, False]
    assert not outcomes.n_withheld.any()
    shown = disclosure.hide_withheld(breakdowns.assign(flag="ok", estimate=0.5, ci_low=0.4, ci_high=0.6))
    assert "Hà Nhì" not in set(shown[shown.unit == "A"].group) and shown[shown.unit != "P"].n.isna().all()


def test_complements_follow_rows_and_columns_until_nothing_can_be_recovered():
    counts = {("r", i, j): v for i, row in enumerate([[2, 10, 7], [9, 6, 8], [12, 11, 3]]) for j, v in enumerate(row)}
    lines = []
    for i in range(3):
        counts[("row", i)] = sum(counts[("r", i, j)] for j in range(3))
        lines.append((("row", i), [("r", i, j) for j in range(3)]))
    for j in range(3):
        counts[("column", j)] = sum(counts[("r", i, j)] for i in range(3))
        lines.append((("column", j), [("r", i, j) for i in range(3)]))
    hidden = disclosure.protect(counts, lines)
    assert ("r", 0, 0) in hidden and ("r", 2, 2) in hidden  # the two primary cells
    for _total, parts in lines:  # no withheld cell alone in a line, none adding up to less than 5
        withheld = [counts[p] for p in parts if p in hidden]
        assert len(withheld) != 1 and (not withheld or sum(withheld) >= 5)


def test_nothing_is_withheld_when_every_count_is_large_enough():
    people = pd.DataFrame(
        {
            "unit": ["A", "P"],
            "indicator": "O1",
            "people": [20, 20],
            "female": [12, 12],
            "male": [8, 8],
            "ethnic_minority": [20, 20],
        }
    )
    assert disclosure.protect_people(people, "P").people.equals(people.astype({c: float for c in PEOPLE}))
    zeros = pd.DataFrame(
        {"unit": ["P"], "indicator": "O1", "people": [12], "female": [12], "male": [0], "ethnic_minority": [12]}
    )
    assert disclosure.protect_people(zeros, "P").people.male.iloc[0] == 0


def test_withheld_percentages_are_hidden_and_small_counts_withheld():
    estimates = pd.DataFrame(
        {
            "estimate": [0.4, 0.5, 0.2, 0.1],
            "ci_low": [0.3, 0.2, 0.1, 0.0],
            "ci_high": [0.5, 0.8, 0.3, 0.3],
            "n": [120, 12, 3, 60],
            "flag": ["ok", "suppress", "unavailable", "review"],
        }
    )
    shown = disclosure.hide_withheld(estimates)
    assert shown.estimate.notna().tolist() == [True, False, False, True]
    assert shown.ci_high.notna().tolist() == [True, False, False, True]
    assert shown.n.tolist()[:2] == [120, 12] and np.isnan(shown.n.iloc[2])


def test_numbers_read_as_each_language_writes_them():
    assert formats.fmt(1234.56, 1, "vi") == "1.234,6" and formats.fmt(1234.56, 1, "en") == "1,234.6"
    assert formats.fmt(float("nan")) == formats.WITHHELD == "x"


def test_every_label_has_both_languages():
    data = yaml.safe_load((ROOT / "data" / "labels.yaml").read_text(encoding="utf-8"))

    def leaves(node, path=""):
        if isinstance(node, dict) and set(node) == {"vi", "en"}:
            yield path, node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, f"{path}.{key}")

    found = list(leaves({k: v for k, v in data.items() if k not in ("source_terms", "unit_prefixes")}))
    assert len(found) > 80
    assert all(node["vi"] and node["en"] for _, node in found)


def test_english_names_of_units_and_plan_references():
    assert labels.unit_name("Huyện Bắc Hà", "en") == "Bắc Hà district"
    assert (
        labels.unit_name("Thị xã Sa Pa", "en") == "Sa Pa town"
        and labels.unit_name("Tỉnh Lào Cai", "vi") == "Tỉnh Lào Cai"
    )
    assert labels.plan_reference("Phụ lục 02, ND3, HĐ3, dòng 1", "en") == "Appendix 02, CA3, A3, row 1"
    assert labels.plan_reference("Mục III.1, gạch đầu dòng 8", "en") == "Section III.1, bullet 8"


def test_excel_keeps_numbers_as_numbers_and_marks_withheld_cells(tmp_path):
    table = pd.DataFrame({"Chỉ số": ["O1", "O2"], "Kết quả": [12.0, np.nan], "Nữ": [7, 9]})
    path = excel.write_excel({"tien-do": table}, tmp_path / "t.xlsx", note="ghi chú")
    sheet = load_workbook(path)["tien-do"]
    assert [c.value for c in sheet[1]] == ["Chỉ số", "Kết quả", "Nữ"]
    assert sheet["B2"].value == 12 and isinstance(sheet["B2"].value, (int, float)) and sheet["B3"].value == "x"
    assert sheet["C3"].value == 9


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_figures_are_embedded_with_alternative_text(lang):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    axis.plot([1, 2], [3, 4])
    markup = formats.figure_html(figure, labels.label("charts.progress_alt", lang))
    assert markup.startswith("<figure") and "data:image/svg+xml;base64," in markup and "alt='" in markup
    assert "http" not in markup


def test_text_in_the_excel_twin_is_never_a_formula(tmp_path):
    import zipfile

    from openpyxl import load_workbook

    hostile = ['=HYPERLINK("http://example.invalid","x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "an ordinary label"]
    path = excel.write_excel(
        {"t": pd.DataFrame({"=group": hostile, "n": range(len(hostile))})}, tmp_path / "t.xlsx", note="=note"
    )
    sheet = load_workbook(path)["t"]
    assert [c.value for c in sheet["A"][1:7]] == hostile
    assert all(c.data_type == "s" for c in sheet["A"] if c.value is not None) and sheet["A1"].value == "=group"
    assert all(c.quotePrefix for c in sheet["A"][1:6]) and not sheet["A7"].quotePrefix
    with zipfile.ZipFile(path) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_a_dollar_sign_in_a_label_is_text_not_mathtext():
    from d8lib.reports import charts

    data = pd.DataFrame({"group": ["$A", "B$"], "indicator": "H1", "estimate": [0.2, 0.3]})
    figure = charts.groups(data, ["H1"], {"$A": "Nhóm $A (giá $5 và $", "B$": "y$"})
    assert "<img" in formats.figure_html(figure, "alt")

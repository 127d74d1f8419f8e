"""Disclosure control, labels and the Excel twin."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT
from openpyxl import load_workbook

from d8lib import publish


def test_a_small_cell_is_withheld_with_its_complement_along_the_row():
    table = pd.DataFrame({"indicator": ["O8", "O11"], "people": [40, 30], "female": [37, 18], "male": [3, 12]})
    protected = publish.protect_counts(table, ["female", "male"], row_total="people")
    row = protected.iloc[0]
    assert np.isnan(row.male) and np.isnan(row.female) and row.people == 40  # 3 withheld, 37 with it
    assert protected.iloc[1][["female", "male"]].tolist() == [18, 12]
    assert protected.attrs["mask"].loc[0, ["female", "male"]].all()


def test_complements_follow_rows_and_columns_until_nothing_can_be_recovered():
    counts = pd.DataFrame({"a": [2, 10, 7], "b": [9, 6, 8], "c": [12, 11, 3]})
    counts["total"] = counts.sum(axis=1)
    protected = publish.protect_counts(counts, ["a", "b", "c"], row_total="total", column_totals=True)
    mask = protected.attrs["mask"][["a", "b", "c"]]
    assert mask.loc[0, "a"] and mask.loc[2, "c"]  # the two primary cells
    assert (mask.sum(axis=1).isin([0, 2, 3])).all() and (mask.sum(axis=0).isin([0, 2, 3])).all()
    # No withheld cell can be worked out: every line with one has at least two.


def test_nothing_is_withheld_when_every_count_is_large_enough():
    table = pd.DataFrame({"people": [20], "female": [12], "male": [8]})
    protected = publish.protect_counts(table, ["female", "male"], row_total="people")
    assert protected[["people", "female", "male"]].iloc[0].tolist() == [20, 12, 8]
    zeros = pd.DataFrame({"people": [12], "female": [12], "male": [0]})
    assert publish.protect_counts(zeros, ["female", "male"], row_total="people").male.iloc[0] == 0


def test_withheld_percentages_are_hidden_and_small_counts_withheld():
    estimates = pd.DataFrame({"estimate": [0.4, 0.5, 0.2, 0.1], "ci_low": [0.3, 0.2, 0.1, 0.0],
                              "ci_high": [0.5, 0.8, 0.3, 0.3], "n": [120, 12, 3, 60],
                              "flag": ["ok", "suppress", "unavailable", "review"]})
    shown = publish.hide_withheld(estimates)
    assert shown.estimate.notna().tolist() == [True, False, False, True]
    assert shown.ci_high.notna().tolist() == [True, False, False, True]
    assert shown.n.tolist()[:2] == [120, 12] and np.isnan(shown.n.iloc[2])


def test_numbers_read_as_each_language_writes_them():
    assert publish.fmt(1234.56, 1, "vi") == "1\u202f234,6" and publish.fmt(1234.56, 1, "en") == "1,234.6"
    assert publish.fmt(float("nan")) == publish.WITHHELD == "x"


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
    assert publish.unit_name("Huyện Bắc Hà", "en") == "Bắc Hà district"
    assert publish.unit_name("Thị xã Sa Pa", "en") == "Sa Pa town" and publish.unit_name("Tỉnh Lào Cai", "vi") == "Tỉnh Lào Cai"
    assert publish.plan_reference("Phụ lục 02, ND3, HĐ3, dòng 1", "en") == "Appendix 02, CA3, A3, row 1"
    assert publish.plan_reference("Mục III.1, gạch đầu dòng 8", "en") == "Section III.1, bullet 8"


def test_excel_keeps_numbers_as_numbers_and_marks_withheld_cells(tmp_path):
    table = pd.DataFrame({"Chỉ số": ["O1", "O2"], "Kết quả": [12.0, np.nan], "Nữ": [7, 9]})
    path = publish.write_excel({"tien-do": table}, tmp_path / "t.xlsx", note="ghi chú")
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
    markup = publish.figure_html(figure, publish.label("charts.progress_alt", lang))
    assert markup.startswith("<figure") and "data:image/png;base64," in markup and "alt='" in markup
    assert "http" not in markup


def test_text_in_the_excel_twin_is_never_a_formula(tmp_path):
    import zipfile

    from openpyxl import load_workbook

    hostile = ['=HYPERLINK("http://example.invalid","x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "an ordinary label"]
    path = publish.write_excel({"t": pd.DataFrame({"=group": hostile, "n": range(len(hostile))})}, tmp_path / "t.xlsx",
                               note="=note")
    sheet = load_workbook(path)["t"]
    assert [c.value for c in sheet["A"][1:7]] == hostile
    assert all(c.data_type == "s" for c in sheet["A"] if c.value is not None) and sheet["A1"].value == "=group"
    assert all(c.quotePrefix for c in sheet["A"][1:6]) and not sheet["A7"].quotePrefix
    with zipfile.ZipFile(path) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_a_dollar_sign_in_a_label_is_text_not_mathtext():
    import matplotlib.pyplot as plt

    import d8lib.report  # noqa: F401  (sets how report charts read their labels)

    figure, axis = plt.subplots()
    axis.set_title("Nhóm $A (giá $5 và $")
    axis.bar(["$x", "y$"], [1, 2])
    assert "<img" in publish.figure_html(figure, "alt")

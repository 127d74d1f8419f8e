"""Intake: a corpus of broken submissions, each rejected or warned where it is wrong,
and a store that a rejected file leaves untouched."""

from __future__ import annotations

import sqlite3
import struct
import unicodedata
import zlib

import pytest
from helpers import filled_form, form_row, long_table
from openpyxl import Workbook, load_workbook

from d8lib.intake.forms import REPORT_SHEET
from d8lib.intake.store import Store
from d8lib.intake.submissions import intake

GOOD_FORM = {
    "O1": {"value": 20, "people": 100, "female": 60, "male": 40, "ethnic_minority": 90},
    "O2": {"value": 5, "people": 120, "female": 110, "male": 10, "ethnic_minority": 100},
    "O4": {"numerator": 12, "denominator": 120},
    "O5": {"numerator": 15, "denominator": 120},
    "O8": {"value": 4, "people": 150, "female": 100, "male": 50, "ethnic_minority": 140},
}


@pytest.fixture
def store(tmp_path, plan):
    """A store that already holds one accepted form (Bắc Hà, 2023)."""
    store = Store(tmp_path / "store")
    form = filled_form(plan, "085", "2023", tmp_path / "accepted.xlsx", GOOD_FORM)
    assert intake([form], store, plan, plan.units())[0].status == "accepted"
    return store


def snapshot(store: Store) -> tuple:
    with sqlite3.connect(store.path) as connection:
        tables = tuple(
            tuple(connection.execute(f"SELECT * FROM {t} ORDER BY rowid"))
            for t in ("files", "submissions", "submitted_values", "warnings")
        )
    return tables, tuple(sorted(p.name for p in store.raw.iterdir()))


def png_bytes() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def csv_row(**fields):
    return {"district": "Bắc Hà", "period": "2024", "indicator": "O1", "value": "30", **fields}


def form_with(plan, tmp_path, name, changes, period="2024"):
    values = {code: dict(cells) for code, cells in GOOD_FORM.items()}
    for code, cells in changes.items():
        values.setdefault(code, {}).update(cells)
    return filled_form(plan, "085", period, tmp_path / name, values)


def _zero_byte(plan, tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    return path, ("empty_file", None, "", "")


def _renamed_image(plan, tmp_path):
    path = tmp_path / "photo-of-report.xlsx"
    path.write_bytes(png_bytes())
    return path, ("unreadable_file", None, "", "")


def _wrong_type(plan, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    return path, ("wrong_file_type", None, "", ".pdf")


def _missing_column(plan, tmp_path):
    path = long_table(tmp_path / "no-value.csv", [{"district": "Bắc Hà", "period": "2024", "indicator": "O1"}])
    return path, ("missing_columns", 1, "", "")


def _missing_sheet(plan, tmp_path):
    path = form_with(plan, tmp_path, "no-report-sheet.xlsx", {})
    workbook = load_workbook(path)
    del workbook[REPORT_SHEET]
    workbook.save(path)
    return path, ("missing_sheet", None, "", "Mốc hoạt động, Hướng dẫn")


def _xlsx_without_district(plan, tmp_path):
    path = tmp_path / "long.xlsx"
    workbook = Workbook()
    workbook.active.append(["Kỳ báo cáo", "Chỉ số", "Giá trị"])
    workbook.active.append(["2024", "O1", 30])
    workbook.save(path)
    return path, ("missing_columns", 1, "", "")


def _header_only(plan, tmp_path):
    return long_table(tmp_path / "header-only.csv", []), ("no_rows", 2, "", "")


def _unknown_district(plan, tmp_path):
    path = long_table(tmp_path / "hanoi.csv", [csv_row(district="Huyện Ba Vì")])
    return path, ("unknown_district", 2, "district", "Huyện Ba Vì")


def _misspelled_district(plan, tmp_path):
    path = long_table(tmp_path / "typo.csv", [csv_row(), csv_row(district="Muong Khuonh", indicator="O2")])
    return path, ("unknown_district", 3, "district", "Muong Khuonh")


def _unknown_commune(plan, tmp_path):
    path = long_table(tmp_path / "commune.csv", [csv_row(commune="Xã Không Có")])
    return path, ("unknown_commune", 2, "commune", "Xã Không Có")


def _unknown_indicator(plan, tmp_path):
    path = long_table(
        tmp_path / "indicator.csv",
        [csv_row(), csv_row(indicator="O99")],
        header=["Huyện", "Kỳ báo cáo", "Mã chỉ số", "Giá trị"],
    )
    return path, ("unknown_indicator", 3, "Mã chỉ số", "O99")


def _period_outside(plan, tmp_path):
    return long_table(tmp_path / "period.csv", [csv_row(period="2027")]), ("period_outside_plan", 2, "period", "2027")


def _not_a_number(plan, tmp_path):
    return form_with(plan, tmp_path, "text.xlsx", {"O1": {"value": "hai mươi"}}), (
        "not_a_number",
        "O1",
        "F",
        "hai mươi",
    )


def _negative(plan, tmp_path):
    return form_with(plan, tmp_path, "negative.xlsx", {"O8": {"value": -3}}), ("negative", "O8", "F", "-3")


def _fractional(plan, tmp_path):
    return long_table(tmp_path / "fraction.csv", [csv_row(value="2.5")]), ("fractional_value", 2, "value", "2.5")


def _percent_out_of_range(plan, tmp_path):
    return form_with(plan, tmp_path, "percent.xlsx", {"O4": {"value": 120}}), ("percent_out_of_range", "O4", "F", "120")


def _numerator_above(plan, tmp_path):
    return form_with(plan, tmp_path, "num.xlsx", {"O4": {"numerator": 130, "denominator": 120}}), (
        "numerator_above_denominator",
        "O4",
        "G",
        "130",
    )


def _members_above(plan, tmp_path):
    return form_with(plan, tmp_path, "members.xlsx", {"O5": {"numerator": 125, "denominator": 125}}), (
        "members_above_group_members",
        "O5",
        "G",
        "125",
    )


def _sexes(plan, tmp_path):
    return form_with(plan, tmp_path, "sex.xlsx", {"O8": {"female": 100, "male": 40}}), (
        "sexes_do_not_add_up",
        "O8",
        "J",
        "140",
    )


def _ethnic_minority(plan, tmp_path):
    return form_with(plan, tmp_path, "em.xlsx", {"O1": {"ethnic_minority": 101}}), (
        "ethnic_minority_above_total",
        "O1",
        "L",
        "101",
    )


def _formula(plan, tmp_path):
    return form_with(plan, tmp_path, "formula.xlsx", {"O8": {"value": "=SUM(B1:B2)"}}), (
        "formula_without_value",
        "O8",
        "F",
        "=SUM(B1:B2)",
    )


def _decrease(plan, tmp_path):
    return form_with(plan, tmp_path, "decrease.xlsx", {"O1": {"value": 15}}), (
        "decrease_of_cumulative",
        "O1",
        "F",
        "15",
    )


def _duplicate(plan, tmp_path):
    path = long_table(tmp_path / "twice.csv", [csv_row(), csv_row(indicator="O2", value="6"), csv_row(value="31")])
    return path, ("duplicate_row", 4, "district", "O1")


def _bad_date(plan, tmp_path):
    path = form_with(plan, tmp_path, "date.xlsx", {})
    workbook = load_workbook(path)
    workbook[REPORT_SHEET]["B5"] = "mùng 5 tháng 9"
    workbook.save(path)
    return path, ("bad_date", 5, "B", "mùng 5 tháng 9")


REJECTED = [
    _zero_byte,
    _renamed_image,
    _wrong_type,
    _missing_column,
    _missing_sheet,
    _xlsx_without_district,
    _header_only,
    _unknown_district,
    _misspelled_district,
    _unknown_commune,
    _unknown_indicator,
    _period_outside,
    _not_a_number,
    _negative,
    _fractional,
    _percent_out_of_range,
    _numerator_above,
    _members_above,
    _sexes,
    _ethnic_minority,
    _formula,
    _decrease,
    _duplicate,
    _bad_date,
]


@pytest.mark.parametrize("case", REJECTED, ids=lambda f: f.__name__.strip("_"))
def test_broken_submission_is_rejected_where_it_is_wrong_and_changes_nothing(case, plan, store, tmp_path):
    path, (code, row, column, value) = case(plan, tmp_path)
    if isinstance(row, str):  # an indicator code: the row of that indicator in the form
        row = form_row(path, row)
    before = snapshot(store)
    result = intake([path], store, plan, plan.units())[0]
    assert result.status == "rejected"
    problem = next(p for p in result.problems if p.code == code)
    assert problem.severity == "error" and problem.file == path.name
    assert (problem.row, problem.column, problem.value) == (row, column, value)
    assert problem.message_vi and problem.message_en and problem.message_vi != problem.message_en
    assert snapshot(store) == before


def test_suggestions_name_the_close_district(plan, store, tmp_path):
    path, _ = _misspelled_district(plan, tmp_path)
    problem = intake([path], store, plan, plan.units())[0].problems[0]
    assert "Huyện Mường Khương" in problem.message_vi and "Did you mean" in problem.message_en


def test_form_problem_names_the_sheet(plan, store, tmp_path):
    path, _ = _negative(plan, tmp_path)
    problem = intake([path], store, plan, plan.units())[0].problems[0]
    assert problem.sheet == REPORT_SHEET and "Báo cáo" in str(problem) and "row" in str(problem)


def test_warnings_are_shown_and_the_file_accepted(plan, store, tmp_path):
    path = form_with(plan, tmp_path, "big.xlsx", {"O8": {"value": 60}, "O4": {"value": 20}})
    result = intake([path], store, plan, plan.units())[0]
    assert result.status == "accepted"
    codes = {(p.code, p.severity, p.column, p.value) for p in result.problems}
    assert codes == {("far_above_target", "warning", "F", "60"), ("percent_disagrees_with_parts", "warning", "F", "20")}
    assert len(store.warnings()) == 2


def test_decomposed_unicode_and_spelling_variants_are_accepted(plan, store, tmp_path):
    rows = [
        csv_row(district=unicodedata.normalize("NFD", "Huyện Bắc Hà"), period="2024"),
        csv_row(district="SIMACAI", indicator="O1", value="12"),
        csv_row(district="TX Sa Pa", indicator="O8", value="3", commune=unicodedata.normalize("NFD", "Phường Sa Pả")),
    ]
    path = long_table(tmp_path / "variants.csv", rows, header=["Huyện", "Kỳ", "Chỉ số", "Kết quả", "Xã"])
    result = intake([path], store, plan, plan.units())[0]
    assert result.status == "accepted", [str(p) for p in result.problems]
    values = store.values()
    assert set(values.district) >= {"084", "085", "088"} and "03002" in set(values.commune)


def test_one_bad_file_does_not_stop_the_others_and_the_call_reports_it(plan, store, tmp_path):
    bad, _ = _negative(plan, tmp_path)
    good = form_with(plan, tmp_path, "good-2024.xlsx", {"O1": {"value": 25}})
    results = intake([bad, good], store, plan, plan.units())
    assert [r.status for r in results] == ["rejected", "accepted"]


def test_same_file_twice_changes_nothing_and_raw_files_are_kept_as_received(plan, store, tmp_path):
    path = form_with(plan, tmp_path, "again.xlsx", {"O1": {"value": 25}})
    intake([path], store, plan, plan.units())
    before = snapshot(store)
    assert intake([path], store, plan, plan.units())[0].status == "unchanged"
    assert snapshot(store) == before
    archived = [p for p in store.raw.iterdir() if p.read_bytes() == path.read_bytes()]
    assert len(archived) == 1 and archived[0].suffix == ".xlsx"


def test_resubmission_supersedes_and_history_stays(plan, store, tmp_path):
    first = form_with(plan, tmp_path, "first.xlsx", {"O1": {"value": 25}})
    second = form_with(plan, tmp_path, "second.xlsx", {"O1": {"value": 28}})
    intake([first, second], store, plan, plan.units())
    current = store.values().query("district == '085' and period == '2024' and indicator == 'O1'")
    assert current.value.tolist() == [28]
    history = store.submissions().query("district == '085' and period == '2024'")
    assert len(history) == 2 and history.superseded_by.notna().tolist() == [True, False]
    everything = store.values(current_only=False).query("district == '085' and period == '2024' and indicator == 'O1'")
    assert everything.value.tolist() == [25, 28]


def test_interrupted_intake_leaves_the_store_as_it_was(plan, store, tmp_path):
    path = form_with(plan, tmp_path, "interrupted.xlsx", {"O1": {"value": 25}})
    from d8lib.intake.checking import check
    from d8lib.intake.reading import read_submission

    submission = check(read_submission(path), plan, plan.units(), store.values())
    before = snapshot(store)[0]
    # The values go in, then storing the warnings fails: the transaction is undone.
    with pytest.raises(AttributeError):
        store.accept(path, submission.sha256, submission.reported_rows, None, warnings=[object()])
    assert snapshot(store)[0] == before
    assert not store.has_file(submission.sha256)


@pytest.mark.parametrize("text", ["NA", "None", "null", "N/A"])
def test_a_text_in_a_number_cell_is_an_error_never_a_blank(tmp_path, plan, text):
    """A district file keeps what it says: "NA" in a value cell is named, not read as not reported."""
    store = Store(tmp_path / "store")
    form = filled_form(
        plan, "085", "2024", tmp_path / "form.xlsx", {**GOOD_FORM, "O1": {**GOOD_FORM["O1"], "value": text}}
    )
    table = long_table(tmp_path / "long.csv", [csv_row(value=text)])
    for path in (form, table):
        result = intake([path], store, plan, plan.units())[0]
        assert result.status == "rejected", (path.name, text)
        assert any(p.code == "not_a_number" and p.value == text for p in result.problems), result.problems


def test_a_file_sent_before_the_one_in_use_goes_into_the_history(tmp_path, plan):
    store = Store(tmp_path / "store")

    def send(name, value, sent):
        form = filled_form(
            plan, "085", "2024", tmp_path / name, {**GOOD_FORM, "O1": {**GOOD_FORM["O1"], "value": value}}, sent
        )
        return intake([form], store, plan, plan.units())[0]

    def in_use():
        values = store.values()
        return values[(values.district == "085") & (values.indicator == "O1")].value.tolist()

    assert send("b.xlsx", 25, "05/09/2024").status == "accepted" and in_use() == [25]
    late = send("a.xlsx", 21, "01/09/2024")  # sent earlier, received later
    assert late.status == "accepted" and in_use() == [25]
    assert [p.code for p in late.problems if p.code == "older_than_stored"] == ["older_than_stored"]
    assert "2024-09-01" in str(late.problems[-1]) and "2024-09-05" in str(late.problems[-1])
    assert send("c.xlsx", 30, "09/09/2024").status == "accepted" and in_use() == [30]
    assert len(store.submissions()) == 3  # the history keeps all three

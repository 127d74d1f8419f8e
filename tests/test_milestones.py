"""Milestones (activities without a number) and priority groups: on the forms, through
intake into the store, and where each milestone stands at a date."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd
import pytest
from helpers import long_table
from openpyxl import load_workbook

from d8lib.intake import forms
from d8lib.intake.store import Store
from d8lib.intake.submissions import intake
from d8lib.monitoring import milestones


def form(plan, unit, period, path, values=None, done=None, sent=None):
    forms.write_template(plan, unit, period, path)
    return forms.fill(path, values or {}, sent or f"20/01/{int(period[:4]) + 1}", done or {})


def test_the_form_lists_the_units_milestones_due_by_the_end_of_the_year(plan, tmp_path):
    district = load_workbook(form(plan, "085", "2023", tmp_path / "d.xlsx"))[forms.MILESTONE_SHEET]
    keys = [r[0] for r in district.iter_rows(min_row=forms.HEADER_ROW + 1, values_only=True) if r[0]]
    assert "M1-2022" in keys and "M1-2023" in keys and "M1-2024" not in keys  # earlier years stay listed
    assert "M22-2024" in keys  # the 2024 plan is due on 31/12/2023
    assert "M2-2023" not in keys and "M11-2023" in keys  # the newspaper column is the province's
    province = load_workbook(form(plan, "10", "2025-final", tmp_path / "p.xlsx"))[forms.MILESTONE_SHEET]
    keys = [r[0] for r in province.iter_rows(min_row=forms.HEADER_ROW + 1, values_only=True) if r[0]]
    assert "M2-2025" in keys and "M8-2025" in keys and "M11-2024" not in keys
    undated = next(r for r in province.iter_rows(values_only=True) if r[0] == "M8-2025")
    assert undated[3] == "31/12/2025 *"


def test_answers_are_stored_with_their_date_and_persons(plan, tmp_path):
    store = Store(tmp_path / "store")
    answers = {
        "M1-2023": {"value": "Có", "done_on": dt.date(2023, 12, 10)},
        "M3-2023": {"value": "không"},
        "M11-2023": {"value": "co", "done_on": "05/03/2023", "people": 3, "female": 3, "male": 0, "ethnic_minority": 3},
    }
    path = form(plan, "085", "2023-final", tmp_path / "f.xlsx", {"P1": {"value": 40}}, answers)
    result = intake([path], store, plan, plan.units())[0]
    assert result.status == "accepted", [str(p) for p in result.problems]
    values = store.values().set_index("indicator")
    assert values.loc["M1-2023", ["value", "done_on"]].tolist() == [1.0, "2023-12-10"]
    assert values.loc["M3-2023", "value"] == 0 and pd.isna(values.loc["M3-2023", "done_on"])
    assert values.loc["M11-2023", ["people", "female", "ethnic_minority"]].tolist() == [3, 3, 3]
    assert values.loc["P1", "value"] == 40
    assert "M4-2023" not in values.index  # left blank: not reported


@pytest.mark.parametrize(
    "answer, code, column",
    [
        ({"value": "chắc vậy"}, "bad_done", "F"),
        ({"value": "Có"}, "done_without_date", "G"),
        ({"value": "Không", "done_on": "01/12/2023"}, "date_without_done", "G"),
        ({"value": "Có", "done_on": "31/02/2023"}, "bad_date", "G"),
    ],
)
def test_a_bad_answer_is_rejected_where_it_stands(plan, tmp_path, answer, code, column):
    store = Store(tmp_path / "store")
    path = form(plan, "085", "2023", tmp_path / "f.xlsx", {}, {"M1-2023": answer})
    row = next(
        r
        for r in range(forms.HEADER_ROW + 1, 200)
        if load_workbook(path)[forms.MILESTONE_SHEET][f"A{r}"].value == "M1-2023"
    )
    result = intake([path], store, plan, plan.units())[0]
    assert result.status == "rejected" and not store.path.exists()
    problem = next(p for p in result.problems if p.code == code)
    assert (problem.sheet, problem.row, problem.column) == (forms.MILESTONE_SHEET, row, column)
    assert problem.message_vi and problem.message_en


def test_a_long_table_reports_milestones_too_but_only_its_own(plan, tmp_path):
    store = Store(tmp_path / "store")
    rows = [
        {
            "Huyện": "Bắc Hà",
            "Kỳ báo cáo": "2023",
            "Mã chỉ số": "M6-2023",
            "Kết quả": "Có",
            "Ngày thực hiện": "02/06/2023",
        },
        {"Huyện": "Bắc Hà", "Kỳ báo cáo": "2023", "Mã chỉ số": "P3", "Kết quả": "2"},
    ]
    assert intake([long_table(tmp_path / "ok.csv", rows)], store, plan, plan.units())[0].status == "accepted"
    assert store.values().set_index("indicator").loc["M6-2023", "done_on"] == "2023-06-02"
    theirs = [dict(rows[0], **{"Mã chỉ số": "M2-2023"})]  # the newspaper column is the province's
    result = intake([long_table(tmp_path / "bad.csv", theirs)], store, plan, plan.units())[0]
    assert result.status == "rejected"
    assert [p.code for p in result.problems if p.severity == "error"] == ["milestone_not_reported_here"]


def _answers(rows):
    base = dict(people=None, female=None, male=None, ethnic_minority=None)
    return pd.DataFrame([dict(base, district=d, period=p, indicator=k, value=v, done_on=on) for d, p, k, v, on in rows])


def test_where_a_milestone_stands_is_worked_out_from_its_due_date_and_the_rounds(plan):
    # The month of action (M1) is due on 15/12; the year's update comes on 25/01.
    values = _answers(
        [
            ("085", "2022-final", "M1-2022", 1, "2022-12-01"),  # done before 15/12/2022
            ("085", "2023-final", "M1-2023", 0, None),  # not done by the update ...
            ("085", "2024", "M1-2023", 1, "2024-03-08"),  # ... and done the next March
            ("085", "2024-final", "M1-2024", 0, None),
        ]
    )

    def status(as_of, key, unit="085"):
        table = milestones.milestone_status(plan, values, as_of).set_index(["unit", "key"])
        return table.status[unit, key]

    assert status(dt.date(2024, 12, 31), "M1-2022") == "done_on_time"
    assert status(dt.date(2024, 3, 1), "M1-2023") == "overdue"  # the 2023 update said not done
    assert status(dt.date(2024, 12, 31), "M1-2023") == "done_late"  # reported in the 10/9/2024 round
    assert status(dt.date(2024, 12, 1), "M1-2024") == "not_yet_due"
    assert status(dt.date(2024, 12, 31), "M1-2024") == "awaiting_report"  # due 15/12, update due 25/01
    assert status(dt.date(2025, 2, 1), "M1-2024") == "overdue"
    assert status(dt.date(2025, 2, 1), "M1-2024", "084") == "overdue"  # never reported
    # The province reports its own (M2, newspaper column), and also the milestones of "both".
    table = milestones.milestone_status(plan, values, dt.date(2025, 2, 1))
    assert {"M2-2024", "M1-2024"} <= set(table[table.unit == "10"].key)
    assert "M2-2024" not in set(table[table.unit == "085"].key)


def test_the_province_counts_districts_by_status(plan):
    values = _answers([("085", "2022-final", "M1-2022", 1, "2022-12-01"), ("084", "2022-final", "M1-2022", 0, None)])
    table = milestones.milestone_status(plan, values, dt.date(2023, 2, 1))
    counts = milestones.summary(table, plan.province).set_index("key").loc["M1-2022"]
    assert counts[list(milestones.STATUSES)].tolist() == [1, 0, 8, 0, 0]  # 1 on time, 8 overdue (7 silent)


def test_an_older_store_gains_the_date_column_and_keeps_its_values(plan, tmp_path):
    store = Store(tmp_path / "store")
    path = form(plan, "085", "2023", tmp_path / "f.xlsx", {"O1": {"value": 5}})
    assert intake([path], store, plan, plan.units())[0].status == "accepted"
    with sqlite3.connect(store.path) as connection:  # the store as d8 wrote it before milestones
        connection.execute("ALTER TABLE submitted_values DROP COLUMN done_on")
        connection.execute("PRAGMA user_version = 0")
    assert store.values().set_index("indicator").loc["O1", "value"] == 5
    with sqlite3.connect(store.path) as connection:
        assert "done_on" in {r[1] for r in connection.execute("PRAGMA table_info(submitted_values)")}


def test_a_new_commune_answers_only_for_what_falls_due_once_it_exists(plan, demo_store):
    """M1-2022 (the month of action, due 15/12/2022) on the demo as of the midterm,
    worked out by hand from the districts' latest answers in the rounds due by
    31/12/2024 (2024 and earlier): 080, 082, 083, 087, 088 and 089 done between 18/10 and
    05/12/2022, on time; 085 done on 01/01/2023, late; 084 and 086 not done, overdue since
    the 2022 update's deadline. The 8 communes formed on 1/7/2025 do not count."""
    values = demo_store.values()
    communes = sorted(set(values.district) - {plan.province, *plan.districts.unit})
    assert len(communes) == 8
    table = milestones.milestone_status(plan, values, dt.date(2024, 12, 31), communes)
    m1 = table[table.key == "M1-2022"].set_index("unit").status
    assert sorted(m1.index) == sorted([plan.province, *plan.districts.unit])  # no commune of 2025
    by_hand = {"080": "done_on_time", "082": "done_on_time", "083": "done_on_time", "087": "done_on_time"}
    by_hand |= {"088": "done_on_time", "089": "done_on_time", "085": "done_late", "084": "overdue", "086": "overdue"}
    assert m1.drop(plan.province).to_dict() == by_hand
    counts = milestones.summary(table, plan.province).set_index("key").loc["M1-2022"]
    assert counts[list(milestones.STATUSES)].tolist() == [6, 1, 2, 0, 0]
    later = milestones.milestone_status(plan, values, dt.date(2026, 1, 31), communes)
    assert set(communes) <= set(later[later.key == "M1-2025"].unit)  # due 15/12/2025: the communes answer
    assert not set(communes) & set(later[later.key == "M1-2024"].unit)

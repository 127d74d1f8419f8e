"""Progress, status, province aggregation, completeness and data quality, against
figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from helpers import ROOT, filled_form, long_table

from d8lib.intake.store import Store
from d8lib.intake.submissions import intake
from d8lib.monitoring.progress import by_area, completeness, completeness_summary, progress
from d8lib.monitoring.quality import modified_z, open_problems, outliers
from d8lib.reports.evaluate import commune_areas

D = dt.date


def submit(store, plan, path, rows, sent):
    path = long_table(path, rows)
    result = intake([path], store, plan, plan.units(), sent_on=sent)[0]
    assert result.status == "accepted", [str(p) for p in result.problems]


@pytest.fixture(scope="module")
def store(tmp_path_factory, plan):
    """Bắc Hà (085) reports 2022-final, 2023 (re-submitted) and 2024-final; Si Ma Cai (084) reports 2023."""
    folder = tmp_path_factory.mktemp("progress")
    store = Store(folder / "store")

    def rows(district, period, o1, o8, o4=None):
        out = [
            dict(district=district, period=period, indicator="O1", value=o1),
            dict(district=district, period=period, indicator="O8", value=o8),
        ]
        if o4:
            out.append(dict(district=district, period=period, indicator="O4", numerator=o4[0], denominator=o4[1]))
        return out

    submit(store, plan, folder / "b.csv", rows("085", "2022-final", 20, 6), D(2023, 1, 20))
    submit(store, plan, folder / "c.csv", rows("085", "2023", 30, 5, (10, 100)), D(2023, 9, 20))  # 10 days late
    submit(store, plan, folder / "d.csv", rows("085", "2023", 35, 7, (12, 100)), D(2023, 10, 1))  # supersedes c
    submit(store, plan, folder / "e.csv", rows("084", "2023", 10, 3, (5, 50)), D(2023, 9, 8))
    submit(store, plan, folder / "f.csv", rows("085", "2024-final", 66, 12), D(2025, 1, 24))
    return store


def row(table, indicator, unit):
    return table.set_index(["indicator", "unit"]).loc[(indicator, unit)]


def share(start, end, as_of):
    return min(max((as_of - start).days / (end - start).days, 0), 1)


def test_2022_nothing_due_yet(plan, store):
    table = progress(plan, store.values(), D(2022, 12, 31))
    teams = row(table, "O1", "085")
    assert teams.status == "no_data" and teams.target == 66
    assert teams.expected == pytest.approx(66 * share(D(2022, 1, 1), D(2024, 12, 31), D(2022, 12, 31)))  # 21.94
    assert table[table.unit != "10"].status.isin(["no_data", "no_target"]).all()


def test_2023_first_update_counts(plan, store):
    table = progress(plan, store.values(), D(2023, 3, 1))
    teams = row(table, "O1", "085")
    assert teams.achieved == 20 and teams.period == "2022-final"
    assert teams.expected == pytest.approx(66 * share(D(2022, 1, 1), D(2024, 12, 31), D(2023, 3, 1)))  # 25.55
    assert teams.status == "behind"  # 20 / 25.55 = 0.78
    dialogues = row(table, "O8", "085")
    expected = 33 * share(D(2022, 1, 1), D(2025, 6, 30), D(2023, 3, 1))  # 10.96
    assert dialogues.expected == pytest.approx(expected)
    assert dialogues.achieved == 6 and dialogues.status == "at_risk"  # 6 / 10.96 = 0.55
    assert row(table, "O1", "084").status == "no_data"
    assert row(table, "O1", "10").achieved == 20  # the province so far: Bắc Hà alone


def test_2023_resubmission_supersedes_and_flows_add_up_by_year(plan, store):
    as_of = D(2023, 12, 31)
    table = progress(plan, store.values(), as_of)
    teams = row(table, "O1", "085")
    assert teams.achieved == 35  # the re-submission, not 30
    assert teams.expected == pytest.approx(66 * share(D(2022, 1, 1), D(2024, 12, 31), as_of))  # 43.94
    assert teams.status == "behind"  # 35 / 43.94 = 0.80
    dialogues = row(table, "O8", "085")
    assert dialogues.achieved == 6 + 7  # 2022 full year (final update) + 2023
    assert row(table, "O1", "10").achieved == 35 + 10 and row(table, "O8", "10").achieved == 13 + 3
    finance = row(table, "O4", "10")
    assert finance.achieved == pytest.approx(100 * (12 + 5) / (100 + 50))  # 11.33%, not the mean of 12% and 10%
    # Percent targets of existing groups are due once the 2023 review is done (from 2024).
    assert finance.expected == 0 and finance.status == "not_due"
    assert row(table, "O4", "10").numerator == 17


def test_2024_before_the_next_round_is_due(plan, store):
    table = progress(plan, store.values(), D(2024, 6, 30))
    assert row(table, "O1", "085").achieved == 35 and row(table, "O1", "085").period == "2023"
    training = row(table, "O12.2", "085")
    assert training.status == "no_data" and training.expected == 4  # due in full by end 2023


def test_2025_completed_and_dialogues_behind(plan, store):
    as_of = D(2025, 3, 1)
    table = progress(plan, store.values(), as_of)
    teams = row(table, "O1", "085")
    # Due in 2024; the full-year update of 2024 (due 25/01/2025) reached it: met on time.
    assert teams.achieved == 66 and teams.status == "met" and teams.percent_achieved == 100
    assert row(table, "O1", "10").status == "not_met"  # 76 of 423 past its date
    dialogues = row(table, "O8", "085")
    assert dialogues.achieved == 6 + 7 + 12
    expected = 33 * share(D(2022, 1, 1), D(2025, 6, 30), as_of)  # 29.87
    assert dialogues.expected == pytest.approx(expected) and dialogues.status == "behind"  # 25 / 29.87 = 0.84
    assert row(table, "O1", "10").achieved == 66 + 10
    assert row(table, "O1", "10").percent_achieved == pytest.approx(100 * 76 / 423)


def test_statuses_on_track_and_not_due(plan):
    from d8lib.monitoring.progress import status

    assert status(9, 10, 5) == "on_track" and status(4.6, 10, 5) == "on_track"
    assert status(2.9, 10, 5) == "at_risk" and status(3, 10, 5) == "behind"
    assert status(0, 10, 0) == "not_due" and status(float("nan"), 10, 5) == "no_data"


def test_statuses_are_codes_that_readers_see_in_their_language(plan, store):
    from d8lib.core.labels import label

    table = progress(plan, store.values(), D(2025, 3, 1))
    assert row(table, "O1", "085").status == "met"
    assert label("status.met", "en") == "Met" and label("status.not_met", "vi") == "Không đạt (đã quá hạn)"
    assert {label(f"status.{s}", "en") for s in table.status.unique()}


def test_completeness_and_timeliness(plan, store):
    table = completeness(plan, store.submissions(), D(2023, 12, 31))
    assert len(table) == 9 * 2  # districts x rounds 2022-final, 2023 (the 10/9/2022 round predates the plan)
    bac_ha = table[table.district == "085"].set_index("period")
    assert bac_ha.on_time["2022-final"]
    assert bac_ha.days_late["2023"] == 10 and not bac_ha.on_time["2023"] and bac_ha.resubmissions["2023"] == 1
    summary = completeness_summary(table).set_index("period")
    assert summary.loc["2023", ["expected", "received", "on_time", "late", "missing", "resubmitted"]].tolist() == [
        9,
        2,
        1,
        1,
        7,
        1,
    ]
    assert summary.loc["2022-final", "missing"] == 8


def test_template_filled_by_a_district_shows_up_in_progress(plan, tmp_path):
    store = Store(tmp_path / "store")
    form = filled_form(
        plan,
        "088",
        "2024",
        tmp_path / "sapa-2024.xlsx",
        {
            "O1": {"value": 40, "people": 400, "female": 250, "male": 150, "ethnic_minority": 380},
            "O2": {"value": 12, "people": 300, "female": 290, "male": 10, "ethnic_minority": 280},
            "O4": {"numerator": 30, "denominator": 300},
        },
    )
    assert intake([form], store, plan, plan.units())[0].status == "accepted"
    table = progress(plan, store.values(), D(2024, 12, 31))
    assert row(table, "O1", "088").achieved == 40 and row(table, "O4", "088").achieved == pytest.approx(10)
    assert row(table, "O2", "088").target == 19
    assert row(table, "O4", "088").target == 15  # a percent target holds in every district
    assert row(table, "O1.1", "088").status == "no_target"  # classes are allocated only to the province
    assert ("O13", "088") not in table.set_index(["indicator", "unit"]).index  # the province's own activity


def test_modified_z_and_outliers(plan):
    assert modified_z(pd.Series([1.0, 1, 1, 1])).eq(0).all()
    z = modified_z(pd.Series([1.0, 2, 3, 4, 100]))
    assert z.iloc[-1] == pytest.approx(0.6745 * 97 / 1)  # median 3, MAD 1
    values = pd.DataFrame(
        {
            "district": ["080", "082", "083", "084", "085", "086"],
            "period": "2024",
            "indicator": "O1",
            "value": [3, 40, 36, 17, 40, 300],
        }
    )
    far = outliers(plan, values)
    assert far.district.tolist() == ["086"]  # 300 teams against a target of 25


def test_open_problems_list_missing_reports_and_warnings(plan, store):
    table = completeness(plan, store.submissions(), D(2023, 12, 31))
    problems = open_problems(plan, store.warnings(), table, store.values(), D(2023, 12, 31))
    assert (problems.kind == "missing_report").sum() == 18 - 3


def test_a_report_as_of_a_date_shows_no_problem_of_a_later_period(plan, demo_store):
    store = demo_store
    values, warnings = store.values(), store.warnings()

    def periods(as_of):
        table = completeness(plan, store.submissions(), as_of)
        problems = open_problems(plan, warnings, table, values, as_of)
        return set(problems.period.fillna(""))

    later = {"2024-final", "2025", "2025-final"}  # due 25/01/2025 and after
    assert periods(D(2026, 2, 1)) & later  # the demo has problems in those rounds ...
    assert not periods(D(2024, 12, 31)) & later  # ... which the midterm, as of 31/12/2024, does not show


def test_after_its_date_a_target_is_met_met_late_or_not_met(plan, tmp_path):
    store = Store(tmp_path / "store")
    # Classes (O11) are due by 31/12/2023; the full-year update of 2023 (due 25/01/2024) judges them.
    for district, period, value, sent in (
        ("082", "2023-final", 4, D(2024, 1, 20)),  # target 4, reached on time
        ("085", "2023-final", 2, D(2024, 1, 20)),  # target 4: 2 in 2023 ...
        ("085", "2024", 2, D(2024, 9, 1)),  # ... and 2 more in 2024: reached late
        ("084", "2023-final", 1, D(2024, 1, 20)),  # target 2, never reached
    ):
        submit(
            store,
            plan,
            tmp_path / f"{district}-{period}.csv",
            [dict(district=district, period=period, indicator="O11", value=value)],
            sent,
        )
    table = progress(plan, store.values(), D(2025, 3, 1))
    assert [row(table, "O11", d).status for d in ("082", "085", "084")] == ["met", "met_late", "not_met"]
    assert row(table, "O11", "085").complete == D(2023, 12, 31)
    before = progress(plan, store.values(), D(2023, 12, 1))
    assert row(before, "O11", "085").status != "not_met"  # not yet past its date


def test_gals_groups_are_expected_as_their_groups_are_set_up(plan, store):
    # O3 (85 groups applying GALS) builds up with the groups (O2) from 2023 to 2024.
    table = progress(plan, store.values(), D(2023, 9, 30))
    gals = row(table, "O3", "10")
    assert gals.expected == pytest.approx(85 * share(D(2023, 1, 1), D(2024, 12, 31), D(2023, 9, 30)))
    assert gals.expected < 85


def test_the_province_reports_what_it_does_itself_on_its_own_form(plan, tmp_path):
    from d8lib.intake.forms import unit_rows

    assert set(unit_rows(plan, "10").code) == {"O1.5", "O13"}  # radio and television; regional workshops
    form = filled_form(plan, "10", "2024", tmp_path / "tinh-2024.xlsx", {"O1.5": {"value": 1}, "O13": {"value": 1}})
    store = Store(tmp_path / "store")
    result = intake([form], store, plan, plan.units())[0]
    assert result.status == "accepted", [str(p) for p in result.problems]
    submit(
        store, plan, tmp_path / "bh.csv", [dict(district="085", period="2024", indicator="O1", value=40)], D(2024, 9, 1)
    )
    table = progress(plan, store.values(), D(2024, 12, 31))
    assert row(table, "O1.5", "10").achieved == 1 and row(table, "O1.5", "10").status == "completed"
    assert row(table, "O13", "10").achieved == 1  # 1 of the 2 workshops
    assert row(table, "O1", "10").achieved == 40  # the districts' sum, unchanged
    assert (table.set_index(["indicator", "unit"]).index.duplicated()).sum() == 0
    named = long_table(tmp_path / "tinh.csv", [dict(district="Tỉnh Lào Cai", period="2025", indicator="O13", value=1)])
    assert intake([named], store, plan, plan.units())[0].status == "accepted"


def test_progress_by_area_adds_up_the_communes_of_each_zone(plan):
    # In the demo's register Thị trấn Bắc Hà (02839) lies outside the ethnic-minority area,
    # Lùng Cải (02842) and Tả Van Chư (02851) in zone III.
    areas = commune_areas(ROOT / "data" / "demo")
    assert areas[["02839", "02842", "02851"]].tolist() == ["none", "III", "III"]
    rows = [
        ("2023-final", "O1", "02842", 4),
        ("2023-final", "O1", "02839", 2),
        ("2024-final", "O1", "02842", 6),  # a stock: the district's latest round counts ...
        ("2024-final", "O1", "02851", 3),  # ... in which Thị trấn Bắc Hà gave no figure
        ("2023-final", "O8", "02842", 2),  # a flow: the years add up
        ("2024-final", "O8", "02842", 5),
        ("2024-final", "O2", None, 7),  # for the whole district
    ]
    values = pd.DataFrame(
        [dict(district="085", period=p, indicator=i, commune=c, value=v) for p, i, c, v in rows]
    ).assign(numerator=None, denominator=None, people=None, female=None, male=None, ethnic_minority=None)
    table = by_area(plan, values, areas, dt.date(2025, 2, 1)).set_index(["unit", "area", "indicator"]).achieved
    assert table["085", "III", "O1"] == 6 + 3 and ("085", "none", "O1") not in table.index
    assert table["085", "III", "O8"] == 2 + 5 and table["085", "unlocated", "O2"] == 7
    assert table["10", "III", "O1"] == 9

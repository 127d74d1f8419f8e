"""Reviews as data of the plan: the yearly review runs to the year's last round, a review
the plan names (the 6-month one of Plan 355) to the date the plan gives it, a round's
review to that round's deadline; any rhythm of rounds (quarterly) and any name the plan
gives its reviews."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import yaml
from helpers import TEST_DATA, d8

from d8lib.core import labels
from d8lib.core.errors import InputError
from d8lib.plan.model import load_plan
from d8lib.reports import dates


def test_plan_355_holds_a_6_month_review_to_30_june_and_yearly_ones_to_the_update():
    plan = load_plan()
    assert dates.review_date(plan, "2024-06") == dt.date(2024, 6, 30)  # "sơ kết 6 tháng"
    assert dates.review_date(plan, "2024") == dt.date(2025, 1, 25)  # the full-year update, 25/01 of 2025
    assert dates.review_date(plan, "2024-final") == dt.date(2025, 1, 25)
    assert labels.review_name("2024-06", "vi", plan) == "Sơ kết 6 tháng đầu năm 2024"
    assert labels.review_name("2023", "en", plan) == "Yearly review 2023"
    assert "before 25 January" in labels.review_name("2023-final", "en", plan)
    with pytest.raises(InputError) as raised:
        dates.review_date(plan, "2024-q1")
    assert "2024-q1" in str(raised.value) and "2024-06" in str(raised.value) and "2024-final" in str(raised.value)


@pytest.fixture(scope="module")
def quarterly(tmp_path_factory):
    """The test province's plan with quarterly rounds (deadlines of the 20th after each
    quarter, the last one of the next year) and no review of its own."""
    folder = tmp_path_factory.mktemp("quarterly")
    shutil.copytree(TEST_DATA / "province-11", folder, dirs_exist_ok=True)
    data = yaml.safe_load((folder / "plan.yaml").read_text(encoding="utf-8"))
    data["reporting"]["rounds"] = [
        {"id": f"q{q}", "deadline": {"month": month, "day": 20, "year_offset": offset}, "label_vi": f"Quý {q}"}
        for q, month, offset in ((1, 4, 0), (2, 7, 0), (3, 10, 0), (4, 1, 1))
    ]
    (folder / "plan.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder / "plan.yaml"


def test_quarterly_rounds_are_reviewed_one_by_one_and_the_year_to_its_last_quarter(quarterly):
    plan = load_plan(quarterly)
    assert list(plan.rounds.period[plan.rounds.year == 2024]) == ["2024-q1", "2024-q2", "2024-q3", "2024-q4"]
    assert dates.review_date(plan, "2024-q3") == dt.date(2024, 10, 20)
    assert dates.review_date(plan, "2024") == dt.date(2025, 1, 20)
    assert labels.review_name("2024-q3", "vi", plan) == "Rà soát kỳ báo cáo «Quý 3» năm 2024"
    with pytest.raises(InputError) as raised:  # this plan names no 6-month review
        dates.review_date(plan, "2024-06")
    assert "2024-q1" in str(raised.value) and "2024-06" in str(raised.value)


def test_a_review_the_plan_does_not_hold_is_refused_by_name(quarterly, tmp_path):
    result = d8("run", "--review", "2024-06", "--plan", str(quarterly), "--data", str(tmp_path), "--out", str(tmp_path))
    said = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in said, said
    assert "has no review or reporting round 2024-06" in said and "2024-q4" in said
    result = d8("run", "--review", "2024-Q 1", "--out", str(tmp_path))
    assert result.returncode == 2 and "must be YYYY, YYYY-<review or round> or adhoc" in result.stderr

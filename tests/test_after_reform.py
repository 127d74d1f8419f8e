"""The illustrative 2026-2030 plan of today's Lào Cai, by new commune with quarterly
rounds (d8demo/illustrative.py): a commune's quarter worked out by hand, the committed
demo as its generator writes it, and a review run by commune."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from d8demo import illustrative
from d8lib.intake.inbox import prepare_store
from d8lib.intake.store import Store
from d8lib.monitoring import progress
from d8lib.plan.model import load_plan

Q2_DEADLINE = dt.date(2026, 7, 10)


@pytest.fixture(scope="module")
def plan():
    return load_plan(illustrative.PLAN_PATH)


@pytest.fixture(scope="module")
def store(plan, tmp_path_factory, shared_store_cache):
    """The first two quarters' reports of the committed demo, taken in as a run takes them
    in (a cached store): the review by commune below then takes in only the third."""
    data = tmp_path_factory.mktemp("demo-2026")
    shutil.copytree(illustrative.DATA_FOLDER / "submissions", data / "submissions")
    inbox = pd.read_csv(illustrative.DATA_FOLDER / "inbox.csv", dtype=str)
    inbox[~inbox.file.str.contains("q3")].to_csv(data / "inbox.csv", index=False)
    return Store(prepare_store(plan, data, shared_store_cache))


def test_the_plan_reports_by_new_commune_each_quarter(plan):
    assert plan.unit_level == "commune_2025" and not plan.reform_date
    assert len(plan.districts) == 99 and set(plan.districts.unit) == set(plan.units().at_level("commune_2025").code)
    assert list(plan.rounds.period[:4]) == ["2026-q1", "2026-q2", "2026-q3", "2026-final"]
    assert plan.rounds.set_index("period").deadline["2026-q2"] == Q2_DEADLINE
    assert plan.meta["illustration"]["en"].startswith("Illustration")


def test_one_communes_second_quarter_by_hand(plan, store):
    """The first commune by code (k = 0), as of the second quarter's deadline (10/7/2026).

    Targets: O1 3 teams, O2 1 group, O7 1 address, O8 5 dialogues, O9 1 club, all from
    1/1/2026; completion O1 31/12/2028 (1,095 days), O2 and O8 31/12/2030 (1,825 days),
    O7 31/12/2027 (729 days), O9 31/12/2029 (1,460 days); 190 days have passed.
    Reported in q2: O1 (2 + 0) // 2 = 1 team (a stock: its latest round), O2 2 // 3 = 0,
    O7 0 (2 + 0 < 3), O8 1 dialogue this year (a flow: the year's latest round), O9 0.
    Expected: O1 3 x 190/1095 = 0.5205, O2 190/1825 = 0.1041, O7 190/729 = 0.2606,
    O8 5 x 190/1825 = 0.5205, O9 190/1460 = 0.1301. Status: achieved / expected against
    the shares of rules/status.yaml (on track at 0.9, at risk below 0.6).
    """
    commune = plan.units().at_level("commune_2025").code.sort_values().iloc[0]
    table = progress.progress(plan, store.values(), Q2_DEADLINE).set_index(["unit", "indicator"])
    mine = table.loc[commune]
    assert mine.target.to_dict() == {"O1": 3, "O2": 1, "O7": 1, "O8": 5, "O9": 1}
    assert mine.achieved.to_dict() == {"O1": 1, "O2": 0, "O7": 0, "O8": 1, "O9": 0}
    expected = {"O1": 3 * 190 / 1095, "O2": 190 / 1825, "O7": 190 / 729, "O8": 5 * 190 / 1825, "O9": 190 / 1460}
    assert mine.expected.to_dict() == pytest.approx(expected, abs=1e-9)
    assert mine.status.to_dict() == {
        "O1": "on_track",
        "O2": "at_risk",
        "O7": "at_risk",
        "O8": "on_track",
        "O9": "at_risk",
    }
    assert table.loc[commune].period.eq("2026-q2").all()
    # The province: O1 adds up min(target, (2 + k % 3) // 2) = 1, 1, 2 over the 33 communes
    # of each k % 3; its target is 33 x 3 + 66 x 2.
    assert table.loc[(plan.province, "O1"), ["achieved", "target"]].tolist() == [33 * 1 + 33 * 1 + 33 * 2, 231]
    # Completeness: the first quarter lacks the 9 communes with k % 11 == 5; the 8 with
    # k % 13 == 7 send 4 days late.
    summary = progress.completeness_summary(progress.completeness(plan, store.submissions(), Q2_DEADLINE))
    assert summary.set_index("period")[["expected", "received", "on_time", "late"]].to_dict("index") == {
        "2026-q1": dict(expected=99, received=90, on_time=82, late=8),
        "2026-q2": dict(expected=99, received=99, on_time=91, late=8),
    }


def test_the_committed_demo_is_what_its_generator_writes(tmp_path):
    illustrative.write(tmp_path / "plan.yaml", tmp_path / "data")
    assert (tmp_path / "plan.yaml").read_text(encoding="utf-8").replace("../units/15", "") == (
        illustrative.PLAN_PATH.read_text(encoding="utf-8").replace("../units/15", "")
    )
    written = pd.read_csv(tmp_path / "data" / "inbox.csv")
    committed = pd.read_csv(illustrative.DATA_FOLDER / "inbox.csv")
    pd.testing.assert_frame_equal(written, committed)
    assert len(committed) == 3 * 99 - 9
    for name in ("02647-2026-q1.xlsx", "04750-2026-q3.xlsx"):  # the forms too, byte for byte
        written_file = (tmp_path / "data" / "submissions" / name).read_bytes()
        assert written_file == (illustrative.DATA_FOLDER / "submissions" / name).read_bytes(), name


def test_a_quarterly_review_by_commune(tmp_path):
    """The province's report and two communes', marked as an illustration, the province's
    grouped by former district."""
    data = tmp_path / "data"
    shutil.copytree(illustrative.DATA_FOLDER, data)
    run = subprocess.run(
        [sys.executable, "-m", "d8lib.cli", "run", "--plan", str(illustrative.PLAN_PATH), "--data", str(data),
         "--review", "2026-q2", "--units", "province,Xã Bát Xát,Phường Yên Bái", "--out", str(tmp_path / "out"),
         "--jobs", "2"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    latest = tmp_path / "out" / "latest"
    pages = {p.name: p.read_text(encoding="utf-8") for p in latest.glob("*.html") if p.name != "index.html"}
    assert len(pages) == 3
    for page in pages.values():
        assert illustrative.NOTE_VI in page and "Traceback" not in page
    province = next(text for name, text in pages.items() if name.startswith("15-"))
    assert "Tỷ lệ hoàn thành chỉ tiêu của các xã, theo huyện cũ" in province
    assert "Quý II" in province and "10/07/2026" in province

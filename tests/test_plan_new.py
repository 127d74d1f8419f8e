"""`d8 plan new`: a province's unit tables from the national ones, and a draft plan."""

from __future__ import annotations

import pandas as pd
import yaml

from d8lib.cli import main
from d8lib.core.paths import DATA_DIR
from d8lib.plan.model import load_plan


def _read(folder, name):
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def test_todays_lao_cai_takes_in_yen_bai(tmp_path, capsys):
    """Resolution 202/2025/QH15 merged Lào Cai (10) and Yên Bái (15) into Lào Cai (15);
    Resolution 1673/NQ-UBTVQH15 gives it 99 communes and wards. Each former province had
    9 districts (Lào Cai: 151 communes before the reform, Yên Bái: 168)."""
    out = tmp_path / "lc"
    assert main(["plan", "new", "--province-code", "15", "--out", str(out)]) == 1
    units = _read(out / "units", "units")
    assert units[units.level == "province"][["code", "name"]].values.tolist() == [["15", "Tỉnh Lào Cai"]]
    districts = units[units.level == "district"]
    assert districts.parent_code.value_counts().to_dict() == {"10": 9, "15": 9}
    assert (units.level == "commune").sum() == 151 + 168
    assert len(_read(out / "units", "communes_2025")) == 99
    crosswalk = _read(out / "units", "crosswalk_2025")
    assert set(units.code[units.level == "commune"]) == set(crosswalk.old_code)
    printed = capsys.readouterr().out
    assert "Tỉnh Yên Bái (15)" in printed and "meta.number" in printed and "targets" in printed


def test_a_former_province_gives_the_tables_of_its_plan(tmp_path):
    """The former Lào Cai, sliced from the national tables, is the folder Plan 355 reads
    (built province by province at the time)."""
    out = tmp_path / "old"
    assert main(["plan", "new", "--province-code", "10", "--out", str(out)]) == 1
    for name in ("units", "communes_2025", "crosswalk_2025"):
        built = _read(out / "units", name).sort_values(["code"] if name != "crosswalk_2025" else ["old_code"])
        kept = _read(DATA_DIR / "units" / "10", name).sort_values(built.columns[0])
        pd.testing.assert_frame_equal(built.reset_index(drop=True), kept.reset_index(drop=True))
    draft = yaml.safe_load((out / "plan.yaml").read_text(encoding="utf-8"))
    assert draft["reporting"]["reform"]["level"] == "commune_2025"


def test_the_draft_is_done_when_nothing_is_left_to_fill(tmp_path, capsys):
    out = tmp_path / "draft"
    assert main(["plan", "new", "--province-code", "15", "--out", str(out)]) == 1
    plan_file = out / "plan.yaml"
    text = plan_file.read_text(encoding="utf-8")
    assert "quarter" in text and yaml.safe_load(text)["reporting"]["level"] == "commune_2025"
    filled = (
        text.replace("number: TODO", "number: 1/KH-UBND")
        .replace("date: TODO", "date: 2026-02-01")
        .replace(": TODO", ": x")
        .replace(
            "indicators: x",
            "indicators: [{code: A, name_vi: a, name_en: a, measure: count, unit_vi: đội, unit_en: teams}]",
        )
        .replace(
            "targets: x",
            "targets: [{indicator: A, target: 5, timeline: {start: 2026-01-01, complete: 2030-12-31}}]",
        )
    )
    plan_file.write_text(filled, encoding="utf-8")
    capsys.readouterr()
    assert main(["plan", "new", "--province-code", "15", "--out", str(out)]) == 0
    assert "not overwritten" in capsys.readouterr().out
    assert plan_file.read_text(encoding="utf-8") == filled
    plan = load_plan(plan_file)
    assert len(plan.rounds) == 5 * 4 and plan.units().at_level("commune_2025").shape[0] == 99


def test_an_unknown_code_is_named_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "none"
    assert main(["plan", "new", "--province-code", "99", "--out", str(out)]) == 1
    assert "99" in capsys.readouterr().err
    assert not out.exists()


def test_a_broken_draft_or_unit_table_is_named_not_a_traceback(tmp_path, capsys):
    out = tmp_path / "draft"
    assert main(["plan", "new", "--province-code", "15", "--out", str(out)]) == 1
    (out / "plan.yaml").write_text("- a list, not a plan\n", encoding="utf-8")
    assert main(["plan", "new", "--province-code", "15", "--out", str(out)]) == 1
    assert "is not a plan" in capsys.readouterr().err
    (out / "plan.yaml").write_text("meta: {}\n", encoding="utf-8")
    (out / "units" / "units.csv").write_text('code,level\n"x', encoding="utf-8")
    assert main(["plan", "new", "--province-code", "15", "--out", str(out)]) == 1
    assert "Cannot read the unit tables" in capsys.readouterr().err

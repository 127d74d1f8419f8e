"""The d8 command as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from helpers import ROOT, d8


def test_plan_check_prints_both_languages_and_exits_0_on_warnings():
    result = d8("plan", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("CẢNH BÁO / WARNING") == 3
    assert "The plan states target O3" in result.stdout and "Kế hoạch nêu chỉ tiêu O11" in result.stdout
    assert "0 lỗi / errors, 3 cảnh báo / warnings" in result.stdout


def test_plan_check_exits_1_on_an_error(tmp_path):
    data = yaml.safe_load((ROOT / "data/plans/lao-cai-355.yaml").read_text(encoding="utf-8"))
    data["allocation"]["districts"][8]["values"][5] = 4  # Thành phố Lào Cai dialogues: 3 in the plan
    data["units"] = str(ROOT / "data/units/10")
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = d8("plan", "check", str(path))
    assert result.returncode == 1
    assert "LỖI / ERROR" in result.stdout and "211" in result.stdout and "cột 6" in result.stdout


def test_plan_check_of_an_unreadable_file_exits_1(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    result = d8("plan", "check", str(path))
    assert result.returncode == 1 and "empty.yaml" in result.stderr


def test_the_installed_d8_command_runs():
    command = Path(sys.executable).parent / "d8"
    result = subprocess.run([str(command), "run", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--phase" in result.stdout


def test_template_then_intake_with_exit_codes(tmp_path):
    form = tmp_path / "form.xlsx"
    result = d8("template", "--district", "Bát Xát", "--period", "2024", "--out", str(form))
    assert result.returncode == 0 and form.exists(), result.stderr
    from openpyxl import load_workbook

    workbook = load_workbook(form)
    sheet = workbook["Báo cáo"]
    assert sheet["D3"].value == "082" and sheet["B4"].value == "2024" and sheet["E8"].value == 68
    sheet["F8"] = 30
    workbook.save(form)
    bad = tmp_path / "bad.csv"
    bad.write_text("district,period,indicator,value\nBát Xát,2024,O1,-1\n", encoding="utf-8")
    store = tmp_path / "store"
    result = d8("intake", str(form), str(bad), "--store", str(store), "--sent", "2024-09-09")
    assert result.returncode == 1
    assert "ĐÃ NHẬN / ACCEPTED" in result.stdout and "TỪ CHỐI / REJECTED" in result.stdout
    assert "bad.csv › dòng/row 2 › cột/column value [-1]" in result.stdout
    assert d8("intake", str(form), "--store", str(store)).returncode == 0  # the same file again: unchanged
    assert d8("template", "--district", "082", "--period", "2031").returncode == 1
    unknown = d8("template", "--district", "Muong Khuonh", "--period", "2024", "--out", str(tmp_path / "x.xlsx"))
    assert unknown.returncode == 1 and "Huyện Mường Khương" in unknown.stderr


def test_a_file_name_cannot_forge_lines_of_the_log(tmp_path, capsys):
    from d8lib.cli import main

    name = tmp_path / "x\nĐÃ NHẬN \u2215 ACCEPTED: gia-mao.csv\x1b[2K.csv"  # a division slash looks like "/"
    name.write_text("district,period,indicator,value\n", encoding="utf-8")
    main(["intake", str(name), "--store", str(tmp_path / "store")])
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("ĐÃ NHẬN") for line in lines)
    assert "\x1b" not in "".join(lines) and "\\n" in lines[0]


def test_bad_arguments_are_usage_errors_that_leave_nothing_behind(tmp_path):
    out = tmp_path / "out"
    (tmp_path / "x.csv").write_text("district,period,indicator,value\n", encoding="utf-8")
    for args, message in [
        (["run", "--phase", "midterm", "--as-of", "31/12/2024", "--out", str(out)], "YYYY-MM-DD"),
        (["run", "--phase", "midterm", "--jobs", "-1", "--out", str(out)], "from 1"),
        (["run", "--phase", "midterm", "--jobs", "two", "--out", str(out)], "from 1"),
        (["run", "--phase", "midterm", "--plan", str(tmp_path / "none.yaml"), "--out", str(out)], "no such file"),
        (["intake", str(tmp_path / "x.csv"), "--sent", "2024-02-30", "--store", str(tmp_path / "store")], "YYYY-MM-DD"),
        (["intake", str(tmp_path / "x.csv"), "--sent", "2099-12-31", "--store", str(tmp_path / "store")], "today"),
        (
            ["intake", str(tmp_path / "x.csv"), "--sent", "1900-01-01", "--store", str(tmp_path / "store")],
            "plan's date",
        ),
    ]:
        result = d8(*args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert not out.exists() and not (tmp_path / "store").exists()


def test_the_province_form_is_written_from_the_command_line(tmp_path):
    form = tmp_path / "tinh.xlsx"
    result = d8("template", "--province", "--period", "2024", "--out", str(form))
    assert result.returncode == 0, result.stderr
    from openpyxl import load_workbook

    sheet = load_workbook(form)["Báo cáo"]
    assert sheet["D3"].value == "10" and sheet["B3"].value == "Tỉnh Lào Cai"
    assert [sheet[f"A{r}"].value for r in range(8, 15)] == ["O1.5", "O13", "P1", "P2", "P3", "P4", None]
    assert d8("template", "--province", "--district", "085", "--period", "2024").returncode == 2


def test_a_phase_whose_date_is_still_to_come_runs_to_today():
    import datetime as dt

    from d8lib.reports.dates import default_as_of

    assert default_as_of("midterm", today=dt.date(2024, 3, 5)) == dt.date(2024, 3, 5)
    assert default_as_of("midterm", today=dt.date(2026, 1, 1)) == dt.date(2024, 12, 31)

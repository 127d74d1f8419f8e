"""From a KoboToolbox or ODK Central export to a round of a dataset: the same estimates
as the demo's own file, drafts that say what remains to map, and broken exports
rejected with their place, leaving the dataset as it was."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import ROOT
from kobo import kobo_xlsx, odk_zip, write_form
from openpyxl import load_workbook

from d8lib.reports import evaluate
from d8lib.survey import outcomes
from d8lib.survey.io.codebook import CodebookError
from d8lib.survey.io.importer import draft_codebook, import_round, write_draft
from d8lib.survey.io.xlsform import read_form

DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def midterm() -> pd.DataFrame:
    return pd.read_csv(DEMO / "survey" / "midterm-2024.csv", dtype={"district": str, "commune": str})


@pytest.fixture(scope="module")
def expected(plan) -> pd.DataFrame:
    return _estimates(DEMO, plan)


def _estimates(data_dir: Path, plan) -> pd.DataFrame:
    stacked = evaluate.load_surveys(data_dir, ["baseline", "midterm"], plan.units())
    design = evaluate.survey_design(stacked, evaluate.calibration_settings(data_dir))
    return outcomes.estimate(outcomes.with_indicators(design), by=["round", "district"], ci="korn-graubard")


def _dataset(tmp_path: Path) -> Path:
    """A copy of the demo's data folder without its midterm file."""
    folder = tmp_path / "data"
    shutil.copytree(DEMO, folder)
    (folder / "survey" / "midterm-2024.csv").unlink()
    return folder


def _hashes(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_draft_of_a_form_in_d8_names_is_complete(tmp_path):
    draft = draft_codebook(read_form(write_form(tmp_path / "form.xlsx")))
    assert draft["todo"] == []
    assert draft["personal"] == ["ho_ten", "so_dien_thoai"]
    assert draft["columns"]["beat_argues"] == {"column": "beat_reasons/beat_argues"}
    assert draft["columns"]["response"]["column"] == ["response", "household_response"]
    assert draft["columns"]["birth_place"]["values"]["Tại nhà"] == "home"


@pytest.mark.parametrize("export", ["kobo", "odk"])
def test_an_export_gives_the_same_estimates_as_the_demos_own_file(tmp_path, plan, midterm, expected, export):
    form = write_form(tmp_path / "form.xlsx")
    path = kobo_xlsx(midterm, tmp_path / "export.xlsx") if export == "kobo" else odk_zip(midterm, tmp_path / "e.zip")
    data = _dataset(tmp_path)
    written = import_round(form, path, "midterm", data).path
    assert written == data / "survey" / "midterm-2024.csv"
    header = set(pd.read_csv(written, nrows=0).columns)
    assert not {"respondent_name", "phone", "ho_ten", "so_dien_thoai"} & header
    archived = list((data / "survey" / "raw").iterdir())
    assert [p.name for p in archived] == [hashlib.sha256(path.read_bytes()).hexdigest() + path.suffix]
    ours = _estimates(data, plan)
    assert len(ours) == len(expected)
    for column in ("estimate", "se", "ci_low", "ci_high", "n", "df"):
        np.testing.assert_allclose(
            ours[column].to_numpy(dtype=float),
            expected[column].to_numpy(dtype=float),
            rtol=1e-12,
            atol=1e-15,
            err_msg=column,
        )
    codebook = yaml.safe_load((data / "survey" / "codebook.yaml").read_text(encoding="utf-8"))
    assert {k: codebook["rounds"]["midterm"][k] for k in ("year", "files")} == {
        "year": 2024,
        "files": ["midterm-2024.csv"],
    }
    assert {"ho_ten", "so_dien_thoai"} <= set(codebook["personal"])


def test_a_form_with_other_names_lists_what_remains_and_works_once_filled_in(tmp_path, plan, midterm, expected):
    rename = {"age": "tuoi", "ethnicity": "dan_toc_cua_ban"}
    relabel = {
        "hon_nhan": {
            "never": ("chua_ket_hon", "Chưa kết hôn", "Single"),
            "married": ("da_ket_hon", "Đã kết hôn", "Wed"),
        }
    }
    form = write_form(tmp_path / "form.xlsx", rename=rename, relabel=relabel)
    draft = write_draft(form, tmp_path / "codebook.yaml")
    todo = "\n".join(draft["todo"])
    assert "age" not in draft["columns"] and "ethnicity" not in draft["columns"]
    assert "no question named 'age'" in todo and "no question named 'ethnicity'" in todo
    assert "chua_ket_hon" in todo and "da_ket_hon" in todo and "choice 'divorced'" not in todo
    assert "perhaps: tuoi" in todo  # the question whose English label is the variable's name
    assert len(draft["todo"]) == 4  # exactly what remains: two questions, two choices
    with pytest.raises(CodebookError, match="still lists what to map"):
        import_round(
            form,
            kobo_xlsx(midterm, tmp_path / "export.xlsx", rename, relabel),
            "midterm",
            _dataset(tmp_path / "first"),
            tmp_path / "codebook.yaml",
        )
    # The analyst fills in what the draft listed.
    spec = yaml.safe_load((tmp_path / "codebook.yaml").read_text(encoding="utf-8"))
    spec["columns"]["age"] = {"column": "tuoi"}
    draft_names = draft_codebook(read_form(write_form(tmp_path / "d8-names.xlsx")))
    spec["columns"]["ethnicity"] = {
        "column": "dan_toc_cua_ban",
        "values": draft_names["columns"]["ethnicity"]["values"],
    }
    spec["columns"]["marital_status"]["values"].update({"chua_ket_hon": "never", "da_ket_hon": "married"})
    spec["todo"] = []
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    data = _dataset(tmp_path)
    import_round(form, tmp_path / "export.xlsx", "midterm", data, tmp_path / "codebook.yaml")
    ours = _estimates(data, plan)
    np.testing.assert_allclose(ours.estimate.to_numpy(dtype=float), expected.estimate.to_numpy(dtype=float), rtol=1e-12)


def _edit_sheet(path: Path, sheet: int, row: int, header: str, value) -> Path:
    """Change one cell of an export (row 2 is the first data row)."""
    book = load_workbook(path)
    ws = book.worksheets[sheet]
    column = next(c.column for c in ws[1] if c.value == header)
    ws.cell(row=row, column=column).value = value
    book.save(path)
    return path


def _drop_rows(path: Path, sheet: int, rows: list[int]) -> Path:
    book = load_workbook(path)
    for row in sorted(rows, reverse=True):
        book.worksheets[sheet].delete_rows(row)
    book.save(path)
    return path


BROKEN = {
    "unknown choice": (lambda p: _edit_sheet(p, 1, 3, "phu_nu/ca_nhan/education", "Đại học"), "education"),
    "duplicate submission": (
        lambda p: _edit_sheet(p, 0, 3, "_uuid", "uuid-" + str(load_workbook(p).worksheets[0].cell(2, 2).value)),
        "duplicated submission",
    ),
    "bad weight": (lambda p: _edit_sheet(p, 0, 2, "ho/weight", "-5"), "below 1e-06"),
    "weight missing": (lambda p: _edit_sheet(p, 0, 4, "ho/weight", None), "no weight"),
    "weight infinite": (lambda p: _edit_sheet(p, 0, 4, "ho/weight", "inf"), "not a finite number"),
    "weight too large": (lambda p: _edit_sheet(p, 0, 4, "ho/weight", "1e308"), "above 1000000"),
    "weight zero": (lambda p: _edit_sheet(p, 0, 4, "ho/weight", "0"), "below 1e-06"),
    "weight vanishing": (lambda p: _edit_sheet(p, 0, 4, "ho/weight", "1e-320"), "below 1e-06"),
    "repeat rows without a parent": (lambda p: _edit_sheet(p, 1, 2, "_parent_index", 99999), "without a parent"),
    "text in a number": (lambda p: _edit_sheet(p, 1, 4, "phu_nu/ca_nhan/age", "hai mươi"), "not a number"),
    "age out of range": (lambda p: _edit_sheet(p, 1, 4, "phu_nu/ca_nhan/age", 61), "above 49"),
    "duplicate respondent": (
        lambda p: _edit_sheet(p, 1, 3, "phu_nu/respondent_id", load_workbook(p).worksheets[1].cell(2, 1).value),
        "duplicated respondent",
    ),
    "village not in the register": (lambda p: _edit_sheet(p, 0, 2, "ho/village", "99999-01"), "village register"),
    "answer the form did not ask": (
        lambda p: _edit_sheet(p, 1, 2, "phu_nu/sinh_con/birth_place", "Tại nhà"),
        "skip logic",
    ),
    "empty file": (lambda p: p.write_bytes(b"") and p, "empty"),
    "not a spreadsheet": (lambda p: p.write_bytes(b"%PDF-1.4 not a workbook") and p, "not an Excel workbook"),
    "damaged workbook": (lambda p: p.write_bytes(p.read_bytes()[:3000]) and p, "workbook"),
    "no submissions": (
        lambda p: _drop_rows(p, 0, list(range(2, load_workbook(p).worksheets[0].max_row + 1))),
        "no submission",
    ),
    "repeat sheet missing": (lambda p: _without_sheet(p, 1), "repeat group"),
    "wrong answer in a binary": (
        lambda p: _edit_sheet(p, 1, 2, "phu_nu/bao_luc/ipv_physical_12m", "Có thể"),
        "ipv_physical_12m",
    ),
    "a select_multiple choice as text": (
        lambda p: _edit_sheet(p, 1, 2, "phu_nu/thai_do/beat_reasons/beat_argues", "x"),
        "beat_reasons/beat_argues",
    ),
}


def _without_sheet(path: Path, index: int) -> Path:
    book = load_workbook(path)
    book.remove(book.worksheets[index])
    book.save(path)
    return path


@pytest.fixture(scope="module")
def kobo_export(tmp_path_factory, midterm) -> tuple[Path, Path]:
    """The form and a Kobo export of the midterm's first 12 villages: the faults are
    placed in its first rows, and a small export makes each case quick."""
    folder = tmp_path_factory.mktemp("kobo")
    some = midterm[midterm.village.isin(midterm.village.unique()[:12])]
    return write_form(folder / "form.xlsx"), kobo_xlsx(some, folder / "export.xlsx")


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_export_is_rejected_with_its_place_and_changes_nothing(tmp_path, kobo_export, case):
    form, clean = kobo_export
    export = tmp_path / "export.xlsx"
    shutil.copy(clean, export)
    breaker, message = BROKEN[case]
    breaker(export)
    data = _dataset(tmp_path)
    before = _hashes(data)
    with pytest.raises(CodebookError) as error:
        import_round(form, export, "midterm", data)
    assert message in str(error.value), str(error.value)
    assert _hashes(data) == before


def test_other_rejections_name_what_is_wrong(tmp_path, kobo_export, midterm):
    form, clean = kobo_export
    data = _dataset(tmp_path)
    before = _hashes(data)
    with pytest.raises(CodebookError, match="round must be one of"):
        import_round(form, clean, "final", data)
    with pytest.raises(CodebookError, match="year of round"):
        import_round(form, clean, "midterm", tmp_path / "elsewhere")
    zipped = odk_zip(midterm, tmp_path / "e.zip")
    with zipfile.ZipFile(zipped) as source, zipfile.ZipFile(tmp_path / "half.zip", "w") as target:
        target.writestr("khao_sat_phu_nu-phu_nu.csv", source.read("khao_sat_phu_nu-phu_nu.csv"))
    with pytest.raises(CodebookError, match="one main table"):
        import_round(form, tmp_path / "half.zip", "midterm", data)
    (tmp_path / "latin.csv").write_bytes("ho/village\nThôn\n".encode("cp1258", errors="replace") + b"\xff")
    with pytest.raises(CodebookError, match="UTF-8"):
        import_round(form, tmp_path / "latin.csv", "midterm", data)
    assert _hashes(data) == before


def _texts(folder: Path) -> str:
    """Every text the files of a folder hold, the insides of Excel files included."""
    parts = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                parts += [book.read(n).decode("utf-8", "replace") for n in book.namelist()]
        else:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.mark.slow
def test_no_personal_or_unnamed_column_reaches_any_output_of_a_run(tmp_path, midterm):
    import subprocess
    import sys

    form = write_form(tmp_path / "form.xlsx")
    export = kobo_xlsx(midterm, tmp_path / "export.xlsx")
    book = load_workbook(export)
    women = book.worksheets[1]
    column = women.max_column + 1
    women.cell(1, column).value = "phu_nu/ghi_chu_rieng"  # a column the form does not have
    for row in range(2, women.max_row + 1):
        women.cell(row, column).value = f"GHI-CHU-RIENG-{row:05d}"
    book.save(export)
    data = _dataset(tmp_path)
    d8 = [sys.executable, "-m", "d8lib.cli"]
    imported = subprocess.run(
        d8
        + ["survey", "import", "--form", str(form), "--export", str(export), "--round", "midterm", "--data", str(data)],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0 and "IMPORTED" in imported.stdout, imported.stdout + imported.stderr
    out, reference = tmp_path / "out", tmp_path / "reference"
    for folder, target in ((data, out), (DEMO, reference)):
        done = subprocess.run(
            d8
            + [
                "run",
                "--phase",
                "midterm",
                "--units",
                "province",
                "--data",
                str(folder),
                "--out",
                str(target),
                "--jobs",
                "1",
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    # The published outcome table is the demo's own.
    for sheet in ("ket-qua", "phan-to", "thay-doi-chenh-lech"):
        ours = pd.read_excel(next((out / "latest").glob("*.xlsx")), sheet_name=sheet, engine="openpyxl")
        theirs = pd.read_excel(next((reference / "latest").glob("*.xlsx")), sheet_name=sheet, engine="openpyxl")
        pd.testing.assert_frame_equal(ours, theirs)
    assert done.returncode == 0, done.stdout + done.stderr
    text = _texts(out) + done.stdout + done.stderr + imported.stdout + imported.stderr
    interviewed = midterm[midterm.respondent_name.notna()]
    names = [n for n in interviewed.respondent_name.unique() if len(n) > 8]
    phones = list(interviewed.phone.astype(str).unique())
    assert not [n for n in names if n in text]
    assert not [p for p in phones if p in text]
    assert "GHI-CHU-RIENG" not in text
    assert "ho_ten" in text  # the methods annex lists the personal columns as not read
    manifest = (out / "latest" / "manifest.json").read_text(encoding="utf-8")
    assert hashlib.sha256(export.read_bytes()).hexdigest() in manifest  # the raw export is named among the inputs


def test_headers_may_be_labels_or_paths_with_either_separator(tmp_path):
    from d8lib.survey.io.exports import _heads

    form = read_form(write_form(tmp_path / "form.xlsx"))
    table = pd.DataFrame(
        columns=[
            "Tuổi",
            "phu_nu-ca_nhan-ethnicity",
            "phu_nu/thai_do/beat_reasons/beat_argues",
            "ho/household",
            "Họ và tên",
            "unrelated",
        ]
    )
    assert _heads(table, form, {"age", "ethnicity", "beat_reasons", "household", "ho_ten"}) == {
        "Tuổi": "age",
        "phu_nu-ca_nhan-ethnicity": "ethnicity",
        "phu_nu/thai_do/beat_reasons/beat_argues": "beat_reasons/beat_argues",
        "ho/household": "household",
        "Họ và tên": "ho_ten",
    }


def test_an_export_of_another_round_is_refused(tmp_path, midterm):
    form = write_form(tmp_path / "form.xlsx", extra=[("calculate", "round", "", "")])
    export = kobo_xlsx(midterm, tmp_path / "export.xlsx")
    book = load_workbook(export)
    households = book.worksheets[0]
    column = households.max_column + 1
    households.cell(1, column).value = "ho/round"
    for row in range(2, households.max_row + 1):
        households.cell(row, column).value = "endline"
    book.save(export)
    data = _dataset(tmp_path)
    before = _hashes(data)
    with pytest.raises(CodebookError, match="not round midterm"):
        import_round(form, export, "midterm", data)
    assert _hashes(data) == before


def test_the_codebook_command_checks_an_export_and_says_what_remains(tmp_path, midterm):
    from d8lib.cli import main

    complete = write_form(tmp_path / "form.xlsx")
    export = kobo_xlsx(midterm, tmp_path / "export.xlsx")
    assert (
        main(
            [
                "survey",
                "codebook",
                "--form",
                str(complete),
                "--export",
                str(export),
                "--out",
                str(tmp_path / "complete.yaml"),
            ]
        )
        == 0
    )
    assert yaml.safe_load((tmp_path / "complete.yaml").read_text(encoding="utf-8"))["todo"] == []
    relabel = {"hon_nhan": {"never": ("chua_ket_hon", "Chưa kết hôn", "Single")}}
    other = write_form(tmp_path / "other.xlsx", relabel=relabel)
    assert (
        main(
            ["survey", "codebook", "--form", str(other), "--export", str(export), "--out", str(tmp_path / "other.yaml")]
        )
        == 1
    )
    todo = yaml.safe_load((tmp_path / "other.yaml").read_text(encoding="utf-8"))["todo"]
    assert len(todo) == 2 and "chua_ket_hon" in todo[0] and "'never' is not mapped" in todo[1]


# The field's skip logic: a group's own, selected() on a select_one and on two answers.
FIELD_RELEVANT = {
    "bao_luc": "${response} = 'completed'",
    "anc_visits": "selected(${birth_2y}, '1')",
    "sought_formal_help": "selected(${ipv_physical_12m}, '1') or selected(${ipv_sexual_12m}, '1')",
}


def _rejected_copies(midterm: pd.DataFrame, count: int = 6) -> pd.DataFrame:
    """Test submissions a reviewer rejected: copies of households with other answers."""
    households = midterm[midterm.response == "completed"].household.drop_duplicates().head(count)
    copies = midterm[midterm.household.isin(households) & (midterm.response == "completed")].copy()
    copies["household"] = "R" + copies.household
    copies["respondent_id"] = "R" + copies.respondent_id
    copies["weight"] = copies.weight * 50
    copies[["ipv_physical_12m", "birth_2y"]] = 1.0
    copies["sought_formal_help"] = 1.0
    copies["birth_place"] = "home"
    copies["anc_visits"] = 0.0
    return copies


def _field_export(kind: str, round_: pd.DataFrame, folder: Path, review: dict) -> Path:
    if kind == "kobo":  # English labels as values, Vietnamese labels as headers
        states = {
            h: {"rejected": "Not approved", "held": "On hold", "approved": "Approved"}[s] for h, s in review.items()
        }
        return kobo_xlsx(round_, folder / "export.xlsx", language="en", label_headers=True, review=states)
    states = {h: {"rejected": "rejected", "held": "hasIssues", "approved": "approved"}[s] for h, s in review.items()}
    return odk_zip(round_, folder / "export.zip", review=states)


@pytest.mark.parametrize("kind", ["kobo", "odk"])
def test_a_womens_questionnaire_as_the_field_exports_it(tmp_path, plan, midterm, expected, kind):
    form = write_form(tmp_path / "form.xlsx", relevant=FIELD_RELEVANT)
    rejected = _rejected_copies(midterm)
    households = midterm.household.drop_duplicates()
    review = {h: "rejected" for h in rejected.household} | {h: "held" for h in households[:4]}
    review |= {h: "approved" for h in households[4:]}
    export = _field_export(kind, pd.concat([midterm, rejected], ignore_index=True), tmp_path, review)
    data = _dataset(tmp_path)
    imported = import_round(form, export, "midterm", data)
    prefix = "uuid-" if kind == "kobo" else "uuid:"
    assert imported.left_out == {"rejected": sorted(prefix + h for h in set(rejected.household))}
    assert imported.awaiting == sorted(prefix + h for h in households[:4])
    assert imported.not_checked == []
    ours = _estimates(data, plan)  # "None" stayed a choice: every answer as given
    for column in ("estimate", "se", "n"):
        np.testing.assert_allclose(ours[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-12)
    record = yaml.safe_load((data / "survey" / "codebook.yaml").read_text(encoding="utf-8"))["rounds"]["midterm"]
    assert record["import"]["review"]["left_out"] == imported.left_out
    assert record["import"]["review"]["awaiting_review"] == 4


@pytest.mark.parametrize("kind", ["kobo", "odk"])
def test_every_injected_skip_logic_violation_is_reported(tmp_path, midterm, kind):
    form = write_form(tmp_path / "form.xlsx", relevant=FIELD_RELEVANT)
    round_ = midterm.copy()
    no_birth = round_.index[(round_.response == "completed") & (round_.birth_2y == 0)][0]
    round_.loc[no_birth, "anc_visits"] = 3.0  # selected() on a select_one
    no_violence = round_.index[(round_.response == "completed") & (round_.ipv_physical_12m == 0)]
    no_violence = no_violence[round_.loc[no_violence, "ipv_sexual_12m"] == 0][0]
    round_.loc[no_violence, "sought_formal_help"] = 0.0  # selected() or selected()
    refused = round_.index[round_.response == "refused"][0]
    round_.loc[refused, "ipv_sexual_12m"] = 0.0  # the group's skip logic
    export = _field_export(kind, round_, tmp_path, {})
    data = _dataset(tmp_path)
    before = _hashes(data)
    with pytest.raises(CodebookError) as error:
        import_round(form, export, "midterm", data)
    said = str(error.value)
    assert "3 problems" in said, said
    for question, expression in (
        ("anc_visits", "selected(${birth_2y}, '1')"),
        ("sought_formal_help", "selected(${ipv_physical_12m}, '1')"),
        ("ipv_sexual_12m", "${response} = 'completed'"),
    ):
        assert f"«{question}»" in said and expression in said, question
    assert _hashes(data) == before


def test_skip_logic_d8_cannot_evaluate_is_named_and_never_run(tmp_path, midterm):
    marker = tmp_path / "RAN"
    payload = f"(age.__class__.__init__.__globals__['sys'].modules['os'].system)('touch {marker}')"
    form = write_form(tmp_path / "form.xlsx", relevant={"age": payload, "education": "regex(${age}, '1')"})
    imported = import_round(form, kobo_xlsx(midterm, tmp_path / "export.xlsx"), "midterm", _dataset(tmp_path))
    assert not marker.exists()
    assert [item.split(":")[0] for item in imported.not_checked] == ["age", "education"]
    assert "not supported" in imported.not_checked[1] and "cannot read" in imported.not_checked[0]


def _rewrite_headers(path: Path, change) -> Path:
    book = load_workbook(path)
    for sheet in book.worksheets:
        for cell in sheet[1]:
            if isinstance(cell.value, str) and not cell.value.startswith("_"):
                cell.value = change(cell.value)
    book.save(path)
    return path


def test_a_dot_as_group_separator_and_an_empty_column_import_as_given(tmp_path, plan, midterm, expected):
    form = write_form(tmp_path / "form.xlsx")
    export = _rewrite_headers(kobo_xlsx(midterm, tmp_path / "export.xlsx"), lambda h: h.replace("/", "."))
    data = _dataset(tmp_path)
    import_round(form, export, "midterm", data)
    ours = _estimates(data, plan)
    np.testing.assert_allclose(ours.estimate.to_numpy(float), expected.estimate.to_numpy(float), rtol=1e-12)
    book = load_workbook(export)  # a mapped select column blank in every row
    women = book.worksheets[1]
    column = next(c.column for c in women[1] if c.value == "phu_nu.ca_nhan.education")
    for row in range(2, women.max_row + 1):
        women.cell(row, column).value = None
    book.save(export)
    written = import_round(form, export, "midterm", _dataset(tmp_path / "empty")).path
    assert pd.read_csv(written).education.isna().all()


def test_a_full_disk_during_an_import_leaves_the_dataset_as_it_was(tmp_path, kobo_export, monkeypatch):
    import errno

    from d8lib.survey.io import importer as surveyimport

    form, export = kobo_export
    data = _dataset(tmp_path)
    before = _hashes(data)

    written = []

    def full(path, *args, **kwargs):  # the export's copy and the round's file are written, its codebook is not
        written.extend(p.name for p in path.parent.glob("*.partial"))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(surveyimport.Path, "write_text", full)
    with pytest.raises(OSError):
        import_round(form, export, "midterm", data)
    assert written == ["midterm-2024.csv.partial"]  # the failure came while the round was being put in place
    assert _hashes(data) == before and not list(data.rglob("*.partial"))

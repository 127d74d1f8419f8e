"""XLSForms as the field writes them (KoboToolbox's metadata, the spellings the
specification allows, .xls and .csv forms, nested and twin repeats, identifying
question types) and exports as the field tools deliver them (label headers, ";" csv,
ODK Central's names for repeat tables, forged tables, review status)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlwt
from openpyxl import Workbook

from d8lib.cli import main
from d8lib.survey.io.codebook import CodebookError
from d8lib.survey.io.exports import flatten, read_export
from d8lib.survey.io.importer import draft_codebook, write_draft
from d8lib.survey.io.xlsform import read_form

ANSWERS = ["NA", "None", "null", "N/A", "", " "]  # the first four are answers; the last two are blanks


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A form or an export: each sheet's rows, the first its headers."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def xls(path: Path, sheets: dict[str, list[list]]) -> Path:
    """The same as an Excel 97-2003 file, as older Kobo and ODK projects keep their forms."""
    book = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    book.save(str(path))
    return path


# A household questionnaire in KoboToolbox's layout: its metadata questions, "$kuid"
# columns, `begin_group` spellings, single-colon languages, "list name", capitals.
KOBO_SURVEY = [
    ["TYPE", "NAME", "label:English", "label:Tiếng Việt", "relevance", "$kuid"],
    ["start", "start", None, None, None, "k1"],
    ["end", "end", None, None, None, "k2"],
    ["today", "today", None, None, None, "k3"],
    ["deviceid", "deviceid", None, None, None, "k4"],
    ["username", "username", None, None, None, "k5"],
    ["audit", "audit", None, None, None, "k5a"],
    ["note", "intro", "Welcome", "Xin chào", None, "k6"],
    ["begin_group", "hh", "Household", "Hộ", None, "k7"],
    ["text", "village", "Village", "Thôn", None, "k8"],
    ["geopoint", "gps", "Location", "Vị trí", None, "k9"],
    ["image", "signature", "Signature", "Chữ ký", None, "k10"],
    ["barcode", "qr", "Card", "Thẻ", None, "k11"],
    ["audio", "voice", "Voice", "Giọng nói", None, "k12"],
    ["phonenumber", "phonenumber", None, None, None, "k13"],
    ["select_one  edu", "education", "Education", "Học vấn", None, "k14"],
    ["select_multiple reasons", "beat_reasons", "Reasons", "Lý do", "${education} != 'NA'", "k15"],
    ["end_group", None, None, None, None, "k16"],
    ["begin repeat", "members", "Members", "Thành viên", "${education} != 'null'", "k17"],
    ["integer", "age", "Age", "Tuổi", None, "k18"],
    ["begin repeat", "children", "Children", "Con", None, "k19"],
    ["integer", "child_age", "Child's age", "Tuổi của con", None, "k20"],
    ["end repeat", None, None, None, None, "k21"],
    ["end repeat", None, None, None, None, "k22"],
]
KOBO_CHOICES = [
    ["list name", "name", "label:English", "label:Tiếng Việt"],
    ["edu", "none", "None", "Không đi học"],
    ["edu", "NA", "Don't know", "Không biết"],
    ["edu", "null", "Refused", "Từ chối"],
    ["edu", "N/A", "Not applicable", "Không áp dụng"],
    ["reasons", "argues", "Argues", "Cãi lại"],
    ["reasons", "None", "None of these", "Không lý do nào"],
]


def test_a_kobo_form_is_read_as_the_specification_allows(tmp_path):
    form = read_form(workbook(tmp_path / "kobo.xlsx", {"survey": KOBO_SURVEY, "choices": KOBO_CHOICES}))
    assert form.questions["education"].type == "select_one"
    assert form.questions["education"].list_name == "edu"
    assert form.questions["education"].labels == {"English": "Education", "Tiếng Việt": "Học vấn"}
    assert [c["name"] for c in form.choices["edu"]] == ["none", "NA", "null", "N/A"]  # text stays text
    assert [c["name"] for c in form.choices["reasons"]] == ["argues", "None"]
    assert form.questions["start"].type == "start" and form.questions["end"].type == "end"
    assert "intro" not in form.questions  # a note holds no answer
    assert form.questions["child_age"].repeats == ("members", "children")  # nested repeats are read
    assert form.repeats == ["members", "children"]
    # skip logic of the enclosing repeat comes first, then the question's own
    assert [e for e, _ in form.questions["age"].relevant] == ["${education} != 'null'"]
    draft = draft_codebook(form)
    assert set(draft["personal"]) == {"gps", "signature", "qr", "voice", "phonenumber", "deviceid", "username", "audit"}
    assert "education" in draft["columns"]
    assert draft["columns"]["education"]["values"]["none"] == "none"
    assert "NA" not in draft["columns"]["education"]["values"]  # not guessed: listed to map
    assert any("choice 'NA'" in item for item in draft["todo"])


def test_the_same_form_as_xls_and_as_csv_reads_the_same(tmp_path):
    expected = read_form(workbook(tmp_path / "kobo.xlsx", {"survey": KOBO_SURVEY, "choices": KOBO_CHOICES}))
    as_xls = read_form(xls(tmp_path / "kobo.xls", {"survey": KOBO_SURVEY, "choices": KOBO_CHOICES}))
    # pyxform's csv layout: the sheet's name in the first column, then its rows
    lines = []
    for sheet, rows in (("survey", KOBO_SURVEY), ("choices", KOBO_CHOICES)):
        lines.append([sheet] + [""] * len(rows[0]))
        lines += [[""] + ["" if v is None else v for v in row] for row in rows]
    (tmp_path / "kobo.csv").write_text(
        "\n".join(",".join(f'"{v}"' for v in line) for line in lines) + "\n", encoding="utf-8"
    )
    as_csv = read_form(tmp_path / "kobo.csv")
    for form in (as_xls, as_csv):
        assert {k: (q.type, q.path, q.labels) for k, q in form.questions.items()} == {
            k: (q.type, q.path, q.labels) for k, q in expected.questions.items()
        }
        assert form.choices == expected.choices


def test_groups_pass_their_skip_logic_to_their_questions_and_names_resolve_within_repeats(tmp_path):
    survey = [
        ["type", "name", "label", "relevant"],
        ["integer", "age", "Her age", None],
        ["begin group", "violence", "Violence", "${age} >= 15"],
        ["select_one yn", "ipv", "Violence", "${partner} = '1'"],
        ["end group", None, None, None],
        ["select_one yn", "partner", "Partner", None],
        ["begin repeat", "women", "Women", None],
        ["integer", "age", "Age", None],
        ["integer", "years", "Years", "${age} > 20"],
        ["end repeat", None, None, None],
        ["begin_repeat", "children", "Children", None],
        ["integer", "age", "Age", None],
        ["end_repeat", None, None, None],
    ]
    form = read_form(workbook(tmp_path / "f.xlsx", {"survey": survey, "choices": [["list_name", "name"]]}))
    assert [e for e, _ in form.questions["ipv"].relevant] == ["${age} >= 15", "${partner} = '1'"]
    # three questions named "age": each by its path, and ${age} within women is women's
    assert {"age", "women/age", "children/age"} == {k for k in form.questions if k.endswith("age")}
    assert form.questions["years"].relevant[0][1] == {"age": "women/age"}
    assert form.questions["ipv"].relevant[0][1] == {"age": "age"}
    todo = "\n".join(draft_codebook(form)["todo"])
    assert "several questions are named 'age' (age, women/age, children/age)" in todo


def _export_sheets(values: list[str]) -> dict:
    """A Kobo xlsx export of KOBO_SURVEY's household part with the given answers to village."""
    head = ["start", "end", "hh/village", "hh/education", "hh/beat_reasons", "hh/gps", "_uuid", "_index"]
    rows = [head] + [
        ["2024-10-01", "2024-10-01", v, "none", "argues", "21.1 104.2 0 0", f"u{i}", i + 1]
        for i, v in enumerate(values)
    ]
    return {"kobo": rows}


@pytest.mark.parametrize("kind", ["xlsx", "csv", "zip"])
def test_no_reader_of_exports_turns_text_into_a_missing_value(tmp_path, kind):
    form = read_form(workbook(tmp_path / "kobo.xlsx", {"survey": KOBO_SURVEY, "choices": KOBO_CHOICES}))
    sheets = _export_sheets(ANSWERS)
    if kind == "xlsx":
        path = workbook(tmp_path / "export.xlsx", sheets)
    else:
        text = "\n".join(";".join(f'"{v}"' for v in row) for row in sheets["kobo"]) + "\n"
        if kind == "csv":  # Kobo's csv: ";" and every field quoted
            path = tmp_path / "export.csv"
            path.write_text(text, encoding="utf-8")
        else:  # ODK Central's zip: the main table named after the form
            path = tmp_path / "export.zip"
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("kobo.csv", text.replace(";", ","))
    flat, problems = flatten(read_export(path, form), form, {"village"}, {"village"})
    assert problems == []
    values = [None if v is None or (isinstance(v, float) and pd.isna(v)) else v for v in flat.village]
    assert values[:4] == ["NA", "None", "null", "N/A"]
    assert [str(v or "").strip() for v in values[4:]] == ["", ""]
    assert "gps" not in flat  # never read


def test_no_reader_of_codebook_files_turns_text_into_a_missing_value(tmp_path):
    from d8lib.survey.io.codebook import _read_table

    rows = [["village", "household"]] + [[f"v{i}", v] for i, v in enumerate(ANSWERS)]
    excel = workbook(tmp_path / "r.xlsx", {"r": rows})
    (tmp_path / "r.csv").write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    for path in (excel, tmp_path / "r.csv"):
        table, _ = _read_table(path, ["village", "household"])
        assert table.household.tolist()[:4] == ["NA", "None", "null", "N/A"], path.name


def test_a_mapped_column_the_export_lacks_is_named(tmp_path):
    form = read_form(workbook(tmp_path / "kobo.xlsx", {"survey": KOBO_SURVEY, "choices": KOBO_CHOICES}))
    sheets = _export_sheets(["a", "b"])
    sheets["kobo"] = [row[:3] + row[4:] for row in sheets["kobo"]]  # no education column
    with pytest.raises(CodebookError, match=r"no column for the questions \['education'\]"):
        flatten(read_export(workbook(tmp_path / "e.xlsx", sheets), form), form, {"education"}, {"education"})


def test_a_variable_in_a_nested_repeat_or_in_two_repeats_is_refused_by_name(tmp_path):
    form = read_form(workbook(tmp_path / "kobo.xlsx", {"survey": KOBO_SURVEY, "choices": KOBO_CHOICES}))
    export = read_export(workbook(tmp_path / "e.xlsx", _export_sheets(["a"])), form)
    with pytest.raises(CodebookError, match=r"'child_age' sits in a nested repeat \(members / children\)"):
        flatten(export, form, {"child_age"})
    survey = [
        ["type", "name", "label"],
        ["begin repeat", "women", "W"],
        ["integer", "age", "Age"],
        ["end repeat", None, None],
        ["begin repeat", "men", "M"],
        ["integer", "weight", "Weight"],
        ["end repeat", None, None],
    ]
    twins = read_form(workbook(tmp_path / "t.xlsx", {"survey": survey}))
    with pytest.raises(CodebookError, match="two different repeat groups"):
        flatten(read_export(workbook(tmp_path / "e2.xlsx", {"t": [["_index"], [1]]}), twins), twins, {"age", "weight"})


def _odk(tmp_path: Path, members: dict[str, str]) -> Path:
    path = tmp_path / "odk.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


TWIN_REPEATS = [
    ["type", "name", "label"],
    ["text", "village", "Village"],
    ["begin repeat", "entry", "First"],
    ["integer", "age", "Age"],
    ["end repeat", None, None],
    ["begin group", "later", "Later"],
    ["begin repeat", "entry", "Second"],
    ["integer", "years", "Years"],
    ["end repeat", None, None],
    ["end group", None, None],
]


def test_odk_central_names_a_second_repeat_of_the_same_name_with_a_tilde(tmp_path):
    form = read_form(workbook(tmp_path / "twins.xlsx", {"survey": TWIN_REPEATS, "settings": [["form_id"], ["f"]]}))
    assert form.repeats == ["entry", "entry~1"]
    main = "village,KEY\nv1,uuid:1\nv2,uuid:2\n"
    first = "age,PARENT_KEY,KEY\n30,uuid:1,uuid:1/entry[1]\n"
    second = "later-entry-years,PARENT_KEY,KEY\n7,uuid:1,uuid:1/later/entry[1]\n8,uuid:2,uuid:2/later/entry[1]\n"
    export = read_export(_odk(tmp_path, {"f.csv": main, "f-entry.csv": first, "f-entry~1.csv": second}), form)
    flat, problems = flatten(export, form, {"village", "years"}, {"years"})
    assert problems == [] and flat.years.tolist() == ["7", "8"] and flat.village.tolist() == ["v1", "v2"]


def test_a_forged_table_in_an_odk_zip_is_refused(tmp_path):
    form = read_form(workbook(tmp_path / "twins.xlsx", {"survey": TWIN_REPEATS, "settings": [["form_id"], ["f"]]}))
    main = "village,KEY\nv1,uuid:1\n"
    with pytest.raises(CodebookError, match="tables the form has no place for"):
        read_export(_odk(tmp_path, {"f.csv": main, "f-entry.csv": "age\n1\n", "evil-entry.csv": "age\n99\n"}), form)
    # a table in a folder of the zip (ODK keeps attachments there) is never taken for the form's
    export = read_export(_odk(tmp_path, {"f.csv": main, "media/f.csv": "village,KEY\nFORGED,uuid:9\n"}), form)
    assert flatten(export, form, {"village"})[0].village.tolist() == ["v1"]
    with pytest.raises(CodebookError, match="expected one main table"):
        read_export(
            _odk(tmp_path, {"a.csv": main, "b.csv": main}),
            read_form(workbook(tmp_path / "g.xlsx", {"survey": TWIN_REPEATS})),
        )


def test_a_kobo_csv_of_a_form_with_repeats_says_to_export_xlsx(tmp_path):
    form = read_form(workbook(tmp_path / "twins.xlsx", {"survey": TWIN_REPEATS}))
    path = tmp_path / "e.csv"
    path.write_text('"village";"_index"\n"v1";"1"\n', encoding="utf-8")
    with pytest.raises(CodebookError, match="Kobo's CSV export holds no repeat groups: export as XLSX"):
        flatten(read_export(path, form), form, {"age"}, {"age"})


@pytest.mark.parametrize(
    "content, name",
    [
        (b"", "empty.xlsx"),
        (b"not a spreadsheet at all", "garbage.xlsx"),
        (b"PK\x03\x04broken zip", "broken.xlsx"),
        (b"\xd0\xcf\x11\xe0 not really xls", "old.xls"),
        (b"type,name\n", "only-headers.csv"),
        (b"\xff\xfe\x00garbage", "binary.csv"),
    ],
)
def test_an_unreadable_form_is_a_named_message_and_nothing_is_written(tmp_path, capsys, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "codebook.yaml"
    assert main(["survey", "codebook", "--form", str(path), "--out", str(out)]) == 1
    said = capsys.readouterr()
    assert "Traceback" not in said.err and name in said.err and " / " in said.err
    assert not out.exists()


ODD_FORMS = {
    "no survey sheet": {"choices": KOBO_CHOICES},
    "an end without a begin": {"survey": [["type", "name"], ["end group", None]]},
    "a group never ended": {"survey": [["type", "name"], ["begin group", "g"], ["text", "t"]]},
    "no type column": {"survey": [["name", "label"], ["a", "A"]]},
    "two columns for one thing": {"survey": [["type", "name", "relevant", "relevance"], ["text", "a", "1", "1"]]},
    "a select of a list that is not there": {"survey": [["type", "name"], ["select_one nowhere", "a"]]},
    "types nobody knows": {"survey": [["type", "name"], ["hologram", "a"], ["select_one", "b"], ["begin", "c"]]},
    "relevance d8 cannot read": {"survey": [["type", "name", "relevant"], ["integer", "age", "${x} = (((("]]},
    "only settings": {"settings": [["form_id"], ["x"]]},
    "names in every script": {
        "survey": [["type", "name", "label::ไทย"], ["text", "ชื่อ", "ชื่อ"], ["integer", "年齢", "年齢"]]
    },
}


@pytest.mark.parametrize("case", list(ODD_FORMS))
def test_any_odd_form_gives_a_draft_or_a_named_message(tmp_path, capsys, case):
    path = workbook(tmp_path / "odd.xlsx", ODD_FORMS[case])
    status = main(["survey", "codebook", "--form", str(path), "--out", str(tmp_path / "c.yaml")])
    said = capsys.readouterr()
    assert status == 1 and "Traceback" not in said.out + said.err
    assert (tmp_path / "c.yaml").exists() == ("TO MAP" in said.out)


def test_the_command_line_is_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["survey", "codebook", "--form", str(tmp_path / "absent.xlsx"), "--out", str(tmp_path / "c.yaml")])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "survey",
                "import",
                "--form",
                __file__,
                "--export",
                __file__,
                "--round",
                "midterm",
                "--data",
                ".",
                "--year",
                "1850",
            ]
        )
    assert exit_.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_help_offers_near_matches_and_one_way_to_fix_each_item(tmp_path):
    survey = [
        ["type", "name", "label::English (en)"],
        ["integer", "Age", "Age of the respondent"],
        ["select_one yn", "ipv_phys", "Physical violence by a partner, past 12 months"],
        ["calculate", "Weight", None],
    ]
    path = workbook(tmp_path / "f.xlsx", {"survey": survey, "choices": [["list_name", "name"], ["yn", "1"]]})
    draft = write_draft(path, tmp_path / "c.yaml")
    todo = {item.split(":")[0]: item for item in draft["todo"]}
    assert "perhaps: Age" in todo["age"] and "write its question under 'column:'" in todo["age"]
    assert "perhaps: ipv_phys" in todo["ipv_physical_12m"]
    assert "perhaps: Weight" in todo["weight"] and "'weights:' file" in todo["weight"]
    assert "weights" not in todo["age"]  # only where a weights file can help


def test_a_whole_export_read_in_memory_stays_within_its_limits(tmp_path):
    form = read_form(workbook(tmp_path / "twins.xlsx", {"survey": TWIN_REPEATS, "settings": [["form_id"], ["f"]]}))
    many = {f"media/{i}.csv": "x\n1\n" for i in range(1001)}
    with pytest.raises(CodebookError, match="at most 1000"):
        read_export(_odk(tmp_path, {"f.csv": "village,KEY\nv,1\n", **many}), form)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("f.csv", "village,KEY\n" + "v,1\n" * (150 * 2**20 // 4))
    with pytest.raises(CodebookError, match="unpacks to|more than"):
        read_export(bomb, form)
    rows = tmp_path / "rows.csv"
    rows.write_text("village\n" + "v\n" * 100_001, encoding="utf-8")
    with pytest.raises(CodebookError, match="more than 100,000"):
        read_export(rows, form)


def test_the_codebook_chooses_which_review_verdicts_leave_a_submission_out(tmp_path):
    from types import SimpleNamespace

    from d8lib.survey.io.codebook import load_codebook
    from d8lib.survey.io.importer import _leave_out

    flat = pd.DataFrame(
        {
            "_uuid": ["a", "b", "c", "d", "e"],
            "_validation_status": ["Approved", "Not approved", "On hold", "", "validation_status_not_approved"],
            "_place": list("12345"),
        }
    )
    kept, left_out, awaiting, reviewed = _leave_out(flat, SimpleNamespace(leave_out=("rejected",)))
    assert kept._uuid.tolist() == ["a", "c", "d"] and left_out == {"rejected": ["b", "e"]}
    assert awaiting == ["c", "d"] and reviewed
    kept, left_out, awaiting, _ = _leave_out(flat, SimpleNamespace(leave_out=("rejected", "awaiting")))
    assert kept._uuid.tolist() == ["a"] and left_out == {"rejected": ["b", "e"], "awaiting": ["c", "d"]}
    assert awaiting == []
    assert _leave_out(flat.drop(columns="_validation_status"), SimpleNamespace(leave_out=("rejected",)))[3] is False
    demo = (Path(__file__).parents[1] / "data" / "demo" / "survey" / "codebook.yaml").read_text(encoding="utf-8")
    (tmp_path / "c.yaml").write_text(demo + "\nreview: {leave_out: [maybe]}\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="leave_out"):
        load_codebook(tmp_path / "c.yaml")


def test_a_full_disk_leaves_no_partial_file(tmp_path, monkeypatch):
    import errno

    from d8lib.core import atomic

    def fill_up(path):
        path.write_text("half a pa", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "index.html"
    target.write_text("the page published before", encoding="utf-8")
    with pytest.raises(OSError):
        atomic.write_whole(target, fill_up)
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]
    assert target.read_text(encoding="utf-8") == "the page published before"


def test_a_form_beyond_its_bounds_is_refused_before_it_is_read(tmp_path, capsys):
    rows = [["type", "name"]] + [["text", f"q{i}"] for i in range(20_001)]  # the bound is 20,000 rows
    path = workbook(tmp_path / "long.xlsx", {"survey": rows})
    assert main(["survey", "codebook", "--form", str(path), "--out", str(tmp_path / "c.yaml")]) == 1
    assert "more than 20,000 rows" in capsys.readouterr().err and not (tmp_path / "c.yaml").exists()

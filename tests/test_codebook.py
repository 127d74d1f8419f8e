"""Survey codebooks: only what they name is read, values mapped as typed, every
problem named by file, row, column and value."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
import yaml

from d8lib.survey.io.codebook import CodebookError, load_codebook, read_round

BASE = {
    "rounds": {"baseline": {"year": 2022, "files": ["r.csv"]}},
    "personal": ["ho_ten", "so_dien_thoai"],
    "columns": {
        "respondent_id": {"column": "ma_phieu"},
        "village": {"column": "thon"},
        "stratum": {"column": "tang"},
        "weight": {"column": "trong_so"},
        "household": {"column": "ho"},
        "response": {"column": "ket_qua", "values": {"1": "completed", "2": "refused", "3": "not_at_home"}},
        "age": {"column": "tuoi"},
        "ethnicity": {"column": "dan_toc", "values": {"Mông": "H'Mông", "H'Mông": "H'Mông", "Kinh": "Kinh"}},
        "birth_place": {"column": "noi_sinh", "values": {"Tại nhà": "home", "Cơ sở y tế": "facility", "98": None}},
        "knows_trusted_address": {"column": "biet_dctc", "values": {"1": 1, "2": 0}},
    },
    "derived": {"age_group": {"from": "age", "bins": [15, 25, 50], "labels": ["15-24", "25-49"]}},
}
ROWS = [
    {
        "ma_phieu": "B1",
        "ho_ten": "Giàng Thị Mỷ",
        "so_dien_thoai": "0912345678",
        "thon": "v1",
        "tang": "s1",
        "trong_so": "10.5",
        "ho": "h1",
        "ket_qua": "1",
        "tuoi": "24",
        "dan_toc": "Mông",
        "noi_sinh": "Tại nhà",
        "biet_dctc": "1",
        "ghi_chu": "anything",
    },
    {
        "ma_phieu": "B2",
        "ho_ten": "Lò Thị Lan",
        "so_dien_thoai": "0987654321",
        "thon": "v1",
        "tang": "s1",
        "trong_so": "10.5",
        "ho": "h2",
        "ket_qua": "1",
        "tuoi": "31",
        "dan_toc": "KINH",
        "noi_sinh": unicodedata.normalize("NFD", "cơ sở y tế"),
        "biet_dctc": "2",
        "ghi_chu": "",
    },
    {
        "ma_phieu": "B3",
        "ho_ten": "Sùng Thị Chá",
        "so_dien_thoai": "0911111111",
        "thon": "v2",
        "tang": "s1",
        "trong_so": "8",
        "ho": "h3",
        "ket_qua": "2",
        "tuoi": "",
        "dan_toc": "",
        "noi_sinh": "98",
        "biet_dctc": "",
        "ghi_chu": "",
    },
]


def write(tmp_path, rows=ROWS, spec=BASE, name="r.csv"):
    pd.DataFrame(rows).to_csv(tmp_path / name, index=False)
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return load_codebook(tmp_path / "codebook.yaml")


def test_values_are_mapped_in_any_unicode_form_and_case(tmp_path):
    data = read_round(write(tmp_path), "baseline")
    assert data.ethnicity.tolist() == ["H'Mông", "Kinh", None]
    assert data.birth_place.tolist() == ["home", "facility", None]  # 98 is "don't know": missing
    assert data.knows_trusted_address.tolist()[:2] == [1.0, 0.0]
    assert data.response.tolist() == ["completed", "completed", "refused"]
    assert data.age_group.tolist() == ["15-24", "25-49", None]
    assert data.weight.tolist() == [10.5, 10.5, 8.0]


def test_only_named_columns_are_read(tmp_path, monkeypatch):
    seen = []
    original = pd.read_csv

    def spy(*args, **kwargs):
        seen.append(kwargs.get("usecols"))
        return original(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", spy)
    data = read_round(write(tmp_path), "baseline")
    read = [c for cols in seen if cols for c in cols]
    assert not {"ho_ten", "so_dien_thoai", "ghi_chu"} & set(read)
    assert not {"ho_ten", "so_dien_thoai", "ghi_chu"} & set(data.columns)


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("dan_toc", "Tày", "row 3, cột/column «dan_toc», giá trị/value «Tày»"),
        ("tuoi", "ba mươi", "not a number"),
        ("tuoi", "12", "below 15"),
        ("tuoi", "24.5", "not a whole number"),
        ("biet_dctc", "3", "code not in the codebook"),
        ("trong_so", "-1", "below 1e-06"),
    ],
)
def test_a_bad_value_is_named(tmp_path, column, value, message):
    rows = [dict(r) for r in ROWS]
    rows[1][column] = value
    with pytest.raises(CodebookError, match="r.csv") as error:
        read_round(write(tmp_path, rows), "baseline")
    assert message in str(error.value) and "dòng/row 3" in str(error.value)


def test_codebooks_that_cannot_be_used_are_refused(tmp_path):
    leaking = {**BASE, "columns": {**BASE["columns"], "age": {"column": "ho_ten"}}}
    with pytest.raises(CodebookError, match="personal"):
        write(tmp_path, spec=leaking)
    unknown = {**BASE, "columns": {**BASE["columns"], "shoe_size": {"column": "x"}}}
    with pytest.raises(CodebookError, match="shoe_size"):
        write(tmp_path, spec=unknown)
    wrong = {**BASE, "columns": {**BASE["columns"], "birth_place": {"column": "noi_sinh", "values": {"1": "hospital"}}}}
    with pytest.raises(CodebookError, match="hospital"):
        write(tmp_path, spec=wrong)
    no_weight = {**BASE, "columns": {k: v for k, v in BASE["columns"].items() if k != "weight"}}
    with pytest.raises(CodebookError, match="weight"):
        write(tmp_path, spec=no_weight)
    codebook = write(tmp_path, rows=[{k: v for k, v in r.items() if k != "tuoi"} for r in ROWS])
    with pytest.raises(CodebookError, match="tuoi"):
        read_round(codebook, "baseline")


def test_weights_and_strata_from_a_separate_file(tmp_path):
    rows = [{k: v for k, v in r.items() if k not in ("trong_so", "tang")} for r in ROWS]
    spec = {
        **BASE,
        "weights": {"file": "weights.csv", "by": "household", "key": "ma_ho", "variables": ["weight", "stratum"]},
    }
    pd.DataFrame({"ma_ho": ["h1", "h2", "h3"], "trong_so": ["5", "6", "7"], "tang": ["a", "a", "b"]}).to_csv(
        tmp_path / "weights.csv", index=False
    )
    data = read_round(write(tmp_path, rows, spec), "baseline")
    assert data.weight.tolist() == [5.0, 6.0, 7.0] and data.stratum.tolist() == ["a", "a", "b"]
    pd.DataFrame({"ma_ho": ["h1", "h2"], "trong_so": ["5", "6"], "tang": ["a", "a"]}).to_csv(
        tmp_path / "weights.csv", index=False
    )
    with pytest.raises(CodebookError, match="no weight"):
        read_round(write(tmp_path, rows, spec), "baseline")


@pytest.mark.parametrize("suffix", [".dta", ".sav"])
def test_stata_and_spss_files_are_read_with_their_value_labels(tmp_path, suffix):
    import pyreadstat
    from helpers import ROOT

    demo = ROOT / "data" / "demo" / "survey"
    expected = read_round(load_codebook(demo / "codebook.yaml"), "baseline")
    raw = pd.read_csv(demo / "baseline-2022.csv", dtype=str, keep_default_na=False)
    # As an evaluation firm delivers it: its own names, numeric codes with value labels.
    ethnic = {g: k + 1 for k, g in enumerate(sorted(set(raw.ethnicity) - {""}))}
    results = {"completed": 1, "household_not_interviewed": 2, "not_at_home": 3, "refused": 4}
    firm = pd.DataFrame(
        {
            "id": raw.respondent_id,
            "hh": raw.household,
            "psu": raw.village,
            "strat": raw.stratum,
            "wt": pd.to_numeric(raw.weight),
            "result": raw.response.map(results).astype(float),
            "q101": pd.to_numeric(raw.age),
            "q102": raw.ethnicity.map(ethnic).astype(float),
            "q301": raw.birth_place.map({"home": 1, "facility": 2, "": 98}).astype(float),
            "name": raw.respondent_name,
        }
    )
    labels = {
        "q102": {float(v): k for k, v in ethnic.items()},
        "q301": {1.0: "Tại nhà", 2.0: "Cơ sở y tế", 98.0: "Không biết"},
        "result": {float(v): k for k, v in results.items()},
    }
    path = tmp_path / f"baseline{suffix}"
    (pyreadstat.write_dta if suffix == ".dta" else pyreadstat.write_sav)(firm, str(path), variable_value_labels=labels)
    spec = {
        "rounds": {"baseline": {"year": 2022, "files": [path.name]}},
        "personal": ["name"],
        "columns": {
            "respondent_id": "id",
            "household": "hh",
            "village": "psu",
            "stratum": "strat",
            "weight": "wt",
            "response": "result",
            "age": "q101",
            "ethnicity": {"column": "q102", "values": sorted(ethnic)},
            "birth_place": {
                "column": "q301",
                "values": {"Tại nhà": "home", "Cơ sở y tế": "facility", "Không biết": None},
            },
        },
    }
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    data = read_round(load_codebook(tmp_path / "codebook.yaml"), "baseline")
    for column in [
        "respondent_id",
        "household",
        "village",
        "stratum",
        "weight",
        "response",
        "age",
        "ethnicity",
        "birth_place",
    ]:
        pd.testing.assert_series_equal(data[column], expected[column], check_dtype=False, check_names=False)
    assert "name" not in data

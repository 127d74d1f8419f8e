"""Unit tables and name resolution as people type names."""

from __future__ import annotations

import unicodedata

import pytest

from d8lib.core.text import ascii_key, tone_key
from d8lib.units import default_units, resolve
from d8lib.units.registry import AmbiguousUnitError, UnknownUnitError


def test_tables_hold_the_province_before_and_after_the_reform():
    units = default_units()
    table = units.table
    assert table.query("level == 'province'").code.tolist() == ["10"]
    assert sorted(units.at_level("district").code) == ["080", "082", "083", "084", "085", "086", "087", "088", "089"]
    communes = units.at_level("commune")
    assert len(communes) == 151 and communes.code.str.fullmatch(r"\d{5}").all()
    assert len(units.at_level("commune_2025")) == 48


def test_crosswalk_maps_every_old_commune_and_shows_communes_across_districts():
    cross = default_units().crosswalk
    assert len(cross) == 151 and cross.old_code.is_unique
    spanning = cross[cross.new_spans_districts]
    assert spanning.new_name.nunique() == 5
    assert set(spanning.new_name) == {"Phường Lào Cai", "Xã Gia Phú", "Xã Cốc San", "Xã Lùng Phình", "Xã Bảo Hà"}
    per_new = spanning.groupby("new_name").old_district_code.nunique()
    assert (per_new == 2).all()
    assert default_units().to_2025(resolve("Xã Vạn Hoà", level="commune")) == resolve(
        "Phường Lào Cai", level="commune_2025"
    )


@pytest.mark.parametrize(
    "typed",
    [
        "Thị xã Sa Pa",
        "TX Sa Pa",
        "TX. Sa Pa",
        "Sapa",
        "sa pa",
        "SA PA",
        "thi xa sa pa",
        unicodedata.normalize("NFD", "Thị xã Sa Pa"),
    ],
)
def test_district_variants(typed):
    assert resolve(typed, level="district") == "088"


@pytest.mark.parametrize(
    "typed,code",
    [
        ("Thành phố Lào Cai", "080"),
        ("TP. Lào Cai", "080"),
        ("TP Lao Cai", "080"),
        ("Thanh pho Lao Cai", "080"),
        ("Huyện Bảo Thắng", "086"),
        ("H. Bảo Thắng", "086"),
        ("bảo thắng", "086"),
        ("BAO THANG", "086"),
        ("Si Ma Cai", "084"),
        ("Simacai", "084"),
        ("Huyen Bac Ha", "085"),
        ("Mường Khương", "083"),
        ("  Văn   Bàn ", "089"),
        (unicodedata.normalize("NFD", "Bát Xát"), "082"),
    ],
)
def test_district_prefixes_case_and_diacritics(typed, code):
    assert resolve(typed, level="district") == code


@pytest.mark.parametrize(
    "typed", ["Xã Vạn Hoà", "Xã Vạn Hòa", "xã vạn hòa", "Van Hoa", unicodedata.normalize("NFD", "Vạn Hòa")]
)
def test_old_and_new_tone_marks(typed):
    assert resolve(typed, level="commune") == "02665"


def test_tone_key_and_ascii_key():
    assert tone_key("Thuỷ") == tone_key("Thủy") and tone_key("Hoà") == tone_key("Hòa")
    assert tone_key("Sa Pa") != tone_key("Sa Pả")
    assert ascii_key("Đồng Tuyển") == "dong tuyen"


def test_commune_prefixes_and_spelled_out_abbreviation():
    assert resolve("Thị trấn Bát Xát") == resolve("TT Bát Xát") == resolve("thi tran bat xat")
    assert resolve("Thị trấn Nông trường Phong Hải") == resolve("Thị trấn N.T Phong Hải") == "02902"
    assert resolve("Phường Cốc Lếu") == resolve("P. Cốc Lếu") == "02644"


def test_exact_spelling_resolves_where_diacritics_alone_differ():
    assert resolve("Phường Sa Pa") == "03001"
    assert resolve("Phường Sa Pả") == "03002"
    with pytest.raises(AmbiguousUnitError) as exc:
        resolve("Phuong Sa Pa")
    assert {c for c, _ in exc.value.candidates} == {"03001", "03002"}


def test_ambiguous_names_carry_candidates():
    with pytest.raises(AmbiguousUnitError) as exc:
        resolve("Thanh Bình", level="commune")
    assert len(exc.value.candidates) == 2 and "Thanh Bình" in str(exc.value) and "Ambiguous" in str(exc.value)
    with pytest.raises(AmbiguousUnitError):
        resolve("Mường Khương")  # the district and its town
    assert resolve("Thanh Bình", level="commune", within=resolve("Mường Khương", level="district")) == "02779"


def test_unknown_names_carry_suggestions():
    with pytest.raises(UnknownUnitError) as exc:
        resolve("Muong Khuonh", level="district")
    assert exc.value.suggestions == ["Huyện Mường Khương"]
    assert "Không tìm thấy" in str(exc.value) and "Unknown unit" in str(exc.value)
    with pytest.raises(UnknownUnitError) as exc:
        resolve("Hà Nội", level="district")
    assert exc.value.suggestions == []


def test_post_reform_communes_are_asked_for_explicitly():
    assert resolve("Sa Pa", level="commune_2025") == "03006"
    assert resolve("Phường Sa Pa", level="commune_2025") != resolve("Phường Sa Pa", level="commune")
    with pytest.raises(ValueError):
        resolve("Sa Pa", level="village")

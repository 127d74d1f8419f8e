"""A province's starting point (``d8 plan new``): its unit tables taken from the national
ones (``data/units/vn``, built by ``scripts/build_units.py``) and a draft plan file
whose every ``TODO`` is something only the plan's text can say.

A GSO code of the 34 provinces formed on 1/7/2025 gives today's province: every
commune of its former provinces (old codes, their districts), its new communes and
the crosswalk between them. A code of a province that the reform merged away, or any code
with ``before_reform``, gives the province as it was before the reform.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from d8lib.core.atomic import write_text
from d8lib.core.errors import Bilingual
from d8lib.core.paths import DATA_DIR
from d8lib.units import reform
from d8lib.units.registry import load_units

NATIONAL = DATA_DIR / "units" / "vn"
TODO = "TODO"
PLAN_FILE = "plan.yaml"
UNITS_FOLDER = "units"
_TEXT = dict.fromkeys(["code", "parent_code", "old_code", "old_district_code", "new_code"], str)


def _round(id_: str, month: int, day: int, year_offset: int, vi: str, en: str, short_vi: str, short_en: str) -> dict:
    deadline = dict(month=month, day=day, year_offset=year_offset)
    return dict(id=id_, deadline=deadline, label_vi=vi, label_en=en, short_vi=short_vi, short_en=short_en)


_UPDATE = ("cập nhật cả năm", "full-year update")
# Decision 552/QĐ-BDTTG (2025): figures each quarter, confirmed by the commune by 10/9,
# the year's update by 25/1 of the next year.
QUARTERLY_ROUNDS = [
    _round("q1", 4, 10, 0, "Quý I", "First quarter", "quý I", "first quarter"),
    _round("q2", 7, 10, 0, "Quý II", "Second quarter", "quý II", "second quarter"),
    _round(
        "q3", 9, 10, 0, "Quý III (xã xác nhận trước 10/9)",
        "Third quarter (confirmed by the commune before 10 September)", "quý III", "third quarter",
    ),
    _round(
        "final", 1, 25, 1, "Cập nhật số liệu năm (trước 25/01 năm sau)",
        "Update of the year's figures (before 25 January of the next year)", *_UPDATE,
    ),
]  # fmt: skip
# Circular 01/2022/TT-UBDT: the year's report before 10/9, its update before 25/1.
YEARLY_ROUNDS = [
    _round(
        "annual", 9, 10, 0, "Báo cáo kết quả năm (trước 10/9)", "Yearly report (before 10 September)",
        "báo cáo tháng 9", "September report",
    ),
    _round(
        "final", 1, 25, 1, "Cập nhật bổ sung số liệu năm (trước 25/01 năm sau)",
        "Update of the year's figures (before 25 January of the next year)", *_UPDATE,
    ),
]  # fmt: skip


class NewPlanError(Bilingual, ValueError):
    """A province code the national tables do not know, or a folder that cannot be written."""


@dataclass(frozen=True)
class ProvinceTables:
    """One province's unit tables: the three CSV files of a plan's ``units`` folder."""

    code: str
    name: str
    after_reform: bool
    former: pd.DataFrame  # code, name: the provinces before the reform that it covers
    units: pd.DataFrame
    communes_2025: pd.DataFrame
    crosswalk: pd.DataFrame

    def summary(self) -> tuple[str, str]:
        """What was built, in Vietnamese and English."""
        districts = (self.units.level == "district").sum()
        communes = (self.units.level == "commune").sum()
        former = ", ".join(f"{n} ({c})" for c, n in zip(self.former.code, self.former.name))
        spans = self.crosswalk.drop_duplicates("new_code").new_spans_districts.sum()
        return (
            f"{self.name} ({self.code}): {len(self.former)} tỉnh trước 1/7/2025 ({former}), {districts} huyện, "
            f"{communes} xã cũ; {len(self.communes_2025)} xã mới, {spans} xã mới gồm xã của nhiều huyện cũ",
            f"{self.name} ({self.code}): {len(self.former)} province(s) before 1/7/2025 ({former}), {districts} districts, "
            f"{communes} old communes; {len(self.communes_2025)} new communes, {spans} of them formed across old districts",
        )


@lru_cache(maxsize=1)
def _national() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    read = lambda name: pd.read_csv(NATIONAL / f"{name}.csv.gz", dtype=_TEXT, keep_default_na=False)  # noqa: E731
    crosswalk = read("crosswalk_2025")
    crosswalk["new_spans_districts"] = crosswalk.new_spans_districts.astype(str).eq("True")
    return read("units"), read("communes_2025"), crosswalk


def province_tables(code: str, before_reform: bool = False) -> ProvinceTables:
    """The unit tables of the province with this GSO code (see the module's docstring)."""
    old, new, crosswalk = _national()
    code = str(code).strip().zfill(2)
    today = new[(new.level == "province_2025") & (new.code == code)]
    then = old[(old.level == "province") & (old.code == code)]
    if today.empty and then.empty or before_reform and then.empty:
        known = ", ".join(sorted(set(new.code[new.level == "province_2025"]) | set(old.code[old.level == "province"])))
        raise NewPlanError(
            f"Không có tỉnh mã {code} trong bảng đơn vị toàn quốc ({NATIONAL}); các mã: {known}",
            f"No province with code {code} in the national unit tables ({NATIONAL}); codes: {known}",
        )
    if before_reform or today.empty:
        return _before_reform(then.iloc[0], old, new, crosswalk)
    return _after_reform(today.iloc[0], old, new, crosswalk)


def _before_reform(province, old: pd.DataFrame, new: pd.DataFrame, crosswalk: pd.DataFrame) -> ProvinceTables:
    districts = old[(old.level == "district") & (old.parent_code == province.code)]
    communes = old[(old.level == "commune") & old.parent_code.isin(districts.code)]
    cross = crosswalk[crosswalk.old_code.isin(communes.code)]
    communes_2025 = new[(new.level == "commune_2025") & new.code.isin(cross.new_code)]
    units = pd.concat([old[old.index == province.name], districts, communes])
    former = pd.DataFrame({"code": [province.code], "name": [province["name"]]})
    return _tables(province.code, province["name"], False, former, units, communes_2025, cross)


def _after_reform(province, old: pd.DataFrame, new: pd.DataFrame, crosswalk: pd.DataFrame) -> ProvinceTables:
    communes_2025 = new[(new.level == "commune_2025") & (new.parent_code == province.code)]
    cross = crosswalk[crosswalk.new_code.isin(communes_2025.code)]
    districts = old[(old.level == "district") & old.code.isin(cross.old_district_code)]
    former = old[(old.level == "province") & old.code.isin(districts.parent_code)]
    # The communes of the former districts, but for those that went wholly to another province.
    moved = set(crosswalk.old_code) - set(cross.old_code)
    communes = old[(old.level == "commune") & old.parent_code.isin(districts.code) & ~old.code.isin(moved)]
    row = pd.DataFrame([dict(province[["code", "name", "kind"]], level="province", parent_code="", aliases="")])
    units = pd.concat([row, districts, communes])
    return _tables(province.code, province["name"], True, former[["code", "name"]], units, communes_2025, cross)


def _tables(code, name, after_reform, former, units, communes_2025, cross) -> ProvinceTables:
    columns = ["code", "level", "kind", "name", "parent_code", "aliases"]
    cross = cross.sort_values(["old_code", "new_code"], ignore_index=True)
    return ProvinceTables(
        code,
        name,
        after_reform,
        former.reset_index(drop=True),
        units[columns].reset_index(drop=True),
        communes_2025[columns].reset_index(drop=True),
        cross,
    )


def gaps(folder: Path) -> list[tuple[str, str]]:
    """What the unit tables in ``folder`` leave to say by hand: old communes without a new
    one and new communes without an old one in the crosswalk."""
    try:
        units = load_units(folder)
        units.at_level("commune")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, AttributeError, pd.errors.ParserError) as exc:
        raise NewPlanError(
            f"Không đọc được bảng đơn vị trong {folder}", f"Cannot read the unit tables in {folder}: {exc}"
        ) from exc
    cross = units.crosswalk
    old, new = units.at_level("commune"), units.at_level(reform.LEVEL)
    return [
        (
            f"crosswalk_2025.csv: xã cũ {c.name} ({c.code}) chưa có xã mới tương ứng",
            f"crosswalk_2025.csv: old commune {c.name} ({c.code}) has no new commune",
        )
        for c in old[~old.code.isin(cross.old_code)].itertuples()
    ] + [
        (
            f"crosswalk_2025.csv: xã mới {c.name} ({c.code}) chưa có xã cũ nào",
            f"crosswalk_2025.csv: new commune {c.name} ({c.code}) has no old commune",
        )
        for c in new[~new.code.isin(cross.new_code)].itertuples()
    ]


def write_tables(tables: ProvinceTables, folder: Path) -> None:
    """The three CSV files and their provenance, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame, name in (
        (tables.units, "units"),
        (tables.communes_2025, "communes_2025"),
        (tables.crosswalk, "crosswalk_2025"),
    ):
        write_text(folder / f"{name}.csv", frame.to_csv(index=False, lineterminator="\n"))
    provenance = (NATIONAL / "PROVENANCE.md").read_text(encoding="utf-8")
    write_text(
        folder / "PROVENANCE.md",
        f"# Provenance of the unit tables\n\nTaken by `d8 plan new --province-code {tables.code}"
        f"{'' if tables.after_reform else ' --before-reform'}` on {dt.date.today().isoformat()} "
        f"from the national tables.\n\n{tables.summary()[1]}.\n\n" + provenance.split("\n", 2)[2],
    )


def draft(tables: ProvinceTables) -> str:
    """The draft plan file of the province: what the tables say filled in, the rest ``TODO``."""
    after = tables.after_reform
    phase = (
        ("2026-01-01", "2030-12-31", "Giai đoạn 2026-2030", "2026-2030")
        if after
        else ("2021-01-01", "2025-12-31", "Giai đoạn I", "Phase I")
    )
    years = list(range(int(phase[0][:4]), int(phase[1][:4]) + 1))
    rounds = QUARTERLY_ROUNDS if after else YEARLY_ROUNDS
    plan = dict(
        meta=dict(
            number=TODO,
            date=TODO,
            issuer=f"Ủy ban nhân dân {tables.name[:1].lower()}{tables.name[1:]}",
            province=dict(code=tables.code, name=tables.name),
            signer=TODO,
            signer_role=TODO,
            title_vi=TODO,
            title_en=TODO,
            phase=dict(
                name_vi=phase[2],
                name_en=phase[3],
                start=dt.date.fromisoformat(phase[0]),
                end=dt.date.fromisoformat(phase[1]),
            ),
        ),
        units=UNITS_FOLDER,
        reporting=dict(
            source=TODO,
            rounds=rounds,
            years=years,
            **(
                {"level": "commune_2025"} if after else {"reform": dict(date=dt.date(2025, 7, 1), level="commune_2025")}
            ),
        ),
        indicators=TODO,
        targets=TODO,
    )
    head = (
        f"# Draft plan of {tables.name} ({tables.code}), written by d8 plan new on {dt.date.today().isoformat()}.\n"
        "# Every TODO is something only the plan's text can say; `d8 plan new` lists what is left\n"
        "# and `d8 plan check` checks the rest. Give each figure the place it stands in the plan (source).\n"
        + (
            "# After the reform the new communes (unit level commune_2025) report; allocate targets to\n"
            "# them under allocation: {source, indicators, province, communes: [{unit, name, row, values}]},\n"
            "# or leave allocation out for targets set for the province only.\n"
            if after
            else "# Allocate targets to districts under allocation: {source, indicators, province, districts}.\n"
        )
    )
    return head + "\n" + yaml.safe_dump(plan, allow_unicode=True, sort_keys=False, width=100)


def todo(plan_file: Path) -> list[tuple[str, str]]:
    """What is left to fill in a drafted plan: each key still ``TODO``, each section the plan
    needs that is missing, and the gaps of its unit tables."""
    try:
        data = yaml.safe_load(plan_file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise NewPlanError(f"Không đọc được {plan_file}", f"Cannot read {plan_file}: {exc}") from exc
    if not isinstance(data, dict):
        raise NewPlanError(
            f"{plan_file} không phải một kế hoạch (các mục meta, indicators, ...)",
            f"{plan_file} is not a plan (sections meta, indicators, ...)",
        )
    left = [(f"{plan_file.name}: {key}", f"{plan_file.name}: {key}") for key in _todo_keys(data)]
    for section in ("meta", "indicators", "targets", "reporting"):
        if not data.get(section):
            left.append((f"{plan_file.name}: thiếu mục {section}", f"{plan_file.name}: section {section} missing"))
    return left


def _todo_keys(node, path: str = "") -> list[str]:
    if isinstance(node, dict):
        return [k for key, value in node.items() for k in _todo_keys(value, f"{path}.{key}" if path else str(key))]
    if isinstance(node, list):
        return [k for i, value in enumerate(node) for k in _todo_keys(value, f"{path}[{i}]")]
    return [path] if node == TODO else []

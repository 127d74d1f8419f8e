"""Build the national tables of units in data/units/vn/ from published PyPI packages.

Run from the repository root:  python scripts/build_units.py

It downloads three wheels with pip (no installation), reads their data files and
writes, for the whole country (gzip-compressed CSV):

- units.csv.gz     the provinces, districts and communes before the reform of
                   1/7/2025 (vietnam-provinces 0.6.0, data version 2025-01-04);
- communes_2025.csv.gz  the 34 provinces (level ``province_2025``) and their communes
                   after the reform, with the new GSO codes (vietnam-provinces 2025.10.1);
- crosswalk_2025.csv.gz  each old commune -> the new commune(s) it went into
                   (vietnam-address-converter), with `new_spans_districts` true where a
                   new commune takes in communes of more than one old district;
- PROVENANCE.md    packages, versions, data dates, counts and the date of the build.

`d8 plan new --province-code NN` takes one province's tables from them. The project
reads only the CSV files; none of these packages is needed to run it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from d8lib.core.text import nfc, tone_key

OLD_DIVISIONS = "vietnam-provinces==0.6.0"
NEW_DIVISIONS = "vietnam-provinces==2025.10.1"
CONVERTER = "vietnam-address-converter==1.0.5"

KIND_BY_PREFIX = {
    "tỉnh": "tỉnh",
    "thành phố": "thành phố",
    "thị xã": "thị xã",
    "huyện": "huyện",
    "quận": "quận",
    "đặc khu": "đặc khu",
    "phường": "phường",
    "thị trấn": "thị trấn",
    "xã": "xã",
}


# Abbreviations in the GSO names that the converter spells out.
ABBREVIATIONS = {"N.T ": "Nông trường ", " NT ": " Nông trường "}


def _key(text: str) -> str:
    return tone_key(_expanded(text))


def _expanded(name: str) -> str:
    for short, full in ABBREVIATIONS.items():
        name = name.replace(short, full)
    return nfc(name)


def _kind(name: str) -> str:
    low = nfc(name).casefold()
    for prefix, kind in KIND_BY_PREFIX.items():
        if low.startswith(prefix + " "):
            return kind
    raise ValueError(f"no unit type in {name!r}")


def _fetch(requirement: str, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(into), requirement],
        check=True,
    )
    name = requirement.split("==")[0].replace("-", "_")
    wheel = next(into.glob(f"{name}-{requirement.split('==')[1]}-*.whl"))
    target = into / wheel.stem
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def _nested(root: Path) -> list[dict]:
    return json.loads((root / "vietnam_provinces" / "data" / "nested-divisions.json").read_text("utf-8"))


def _converter_rows(root: Path) -> list[dict]:
    spec = importlib.util.spec_from_file_location("converter_data", root / "vietnam_address_converter" / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DEFAULT_DATA["mapping"]["rows"]


def _old_tables(old: list[dict]) -> tuple[pd.DataFrame, dict]:
    """Every province, district and commune before the reform, and each commune's code by
    (province, district, commune) name key."""
    rows, code_by_key = [], {}
    for province in old:
        pcode = f"{province['code']:02d}"
        rows.append(_unit(pcode, "province", province["name"], ""))
        for district in province["districts"]:
            dcode = f"{district['code']:03d}"
            rows.append(_unit(dcode, "district", district["name"], pcode))
            for ward in district["wards"]:
                wcode = f"{ward['code']:05d}"
                unit = _unit(wcode, "commune", ward["name"], dcode)
                unit["aliases"] = _key(ward["name"]) != tone_key(ward["name"]) and _expanded(ward["name"]) or ""
                rows.append(unit)
                code_by_key[(_key(province["name"]), _key(district["name"]), _key(ward["name"]))] = wcode
    return pd.DataFrame(rows), code_by_key


def _unit(code: str, level: str, name: str, parent: str) -> dict:
    return dict(code=code, level=level, kind=_kind(name), name=nfc(name), parent_code=parent, aliases="")


def _new_tables(new: list[dict]) -> tuple[pd.DataFrame, dict]:
    """The provinces and communes after the reform, and each commune's code by (province
    name key, commune name key)."""
    rows, code_by_key = [], {}
    for province in new:
        pcode = f"{province['code']:02d}"
        name = province["name"] if _has_kind(province["name"]) else f"Tỉnh {province['name']}"
        rows.append(_unit(pcode, "province_2025", name, ""))
        for ward in province["wards"]:
            wcode = f"{ward['code']:05d}"
            rows.append(_unit(wcode, "commune_2025", ward["name"], pcode))
            for spelled in (province["name"], name):
                code_by_key[(_key(spelled), _key(ward["name"]))] = wcode
    return pd.DataFrame(rows), code_by_key


def _has_kind(name: str) -> bool:
    try:
        _kind(name)
    except ValueError:
        return False
    return True


def build(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_root, new_root, conv_root = (_fetch(r, tmp) for r in (OLD_DIVISIONS, NEW_DIVISIONS, CONVERTER))
        old_units, old_code = _old_tables(_nested(old_root))
        new_units, new_code = _new_tables(_nested(new_root))
        mapping = _converter_rows(conv_root)

    name_of = dict(zip(old_units.code + old_units.level, old_units.name))
    parent_of = dict(zip(old_units.code + old_units.level, old_units.parent_code))
    new_name = dict(zip(new_units.code + new_units.level, new_units.name))
    cross, unmatched = [], 0
    for r in mapping:
        old = old_code.get(tuple(_key(r["old"][k]) for k in ("province_name", "district_name", "ward_name")))
        new = new_code.get((_key(r["new"]["province_name"]), _key(r["new"]["ward_name"])))
        if old is None or new is None:
            unmatched += 1
            continue
        cross.append(
            dict(
                old_code=old,
                old_name=name_of[old + "commune"],
                old_district_code=parent_of[old + "commune"],
                new_code=new,
                new_name=new_name[new + "commune_2025"],
            )
        )
    cross = pd.DataFrame(cross).drop_duplicates(["old_code", "new_code"]).sort_values(["old_code", "new_code"])
    spans = cross.groupby("new_code").old_district_code.nunique()
    cross["new_spans_districts"] = cross.new_code.map(spans > 1)

    out.mkdir(parents=True, exist_ok=True)
    for frame, name in ((old_units, "units"), (new_units, "communes_2025"), (cross, "crosswalk_2025")):
        frame.to_csv(
            out / f"{name}.csv.gz", index=False, lineterminator="\n", compression={"method": "gzip", "mtime": 0}
        )
    communes = old_units[old_units.level == "commune"]
    (out / "PROVENANCE.md").write_text(
        f"# Provenance of the national unit tables\n\n"
        f"Built by `scripts/build_units.py` on {dt.date.today().isoformat()}. "
        f"`d8 plan new --province-code NN` takes a province's tables from them.\n\n"
        f"| file | source (PyPI) | data version |\n|---|---|---|\n"
        f"| units.csv.gz | `{OLD_DIVISIONS}` | 2025-01-04 (GSO, before the reform of 1/7/2025) |\n"
        f"| communes_2025.csv.gz | `{NEW_DIVISIONS}` | 2025-10-18 (GSO codes after the reform; level `province_2025` for the 34 provinces) |\n"
        f"| crosswalk_2025.csv.gz | `{CONVERTER}` (mapping `admin_mapping_old_to_new_10_25`), joined by name to the two above | 10/2025 |\n\n"
        f"Counts: {(old_units.level == 'province').sum()} provinces, {(old_units.level == 'district').sum()} districts, "
        f"{len(communes)} communes before the reform; {(new_units.level == 'province_2025').sum()} provinces and "
        f"{(new_units.level == 'commune_2025').sum()} communes after it. The crosswalk has {len(cross)} rows: "
        f"{cross.old_code.duplicated(keep=False).sum()} rows of old communes divided among several new ones, "
        f"{int((~communes.code.isin(cross.old_code)).sum())} old communes and "
        f"{int((~new_units[new_units.level == 'commune_2025'].code.isin(cross.new_code)).sum())} new communes "
        f"without a row ({unmatched} rows of the mapping name a unit the GSO tables do not have).\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/units/vn"))
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()

"""Build the reference tables of units in data/units/ from published PyPI packages.

Run from the repository root:  python scripts/build_units.py [--province-code 10]

It downloads three wheels with pip (no installation), reads their data files and
writes, for the province asked for (default: Lào Cai, GSO code 10):

- units.csv       the province, its districts and communes before the reform of
                  1/7/2025 (vietnam-provinces 0.6.0, data version 2025-01-04);
- communes_2025.csv  the post-reform communes that the old ones became, with their
                  new GSO codes (vietnam-provinces 2025.10.1);
- crosswalk_2025.csv each old commune -> its new commune (vietnam-address-converter),
                  with `new_spans_districts` true where a new commune takes in
                  communes of more than one old district;
- PROVENANCE.md   packages, versions, data dates and the date of the build.

The project reads only the CSV files; none of these packages is needed to run it.
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
from d8lib.text import nfc, tone_key

OLD_DIVISIONS = "vietnam-provinces==0.6.0"
NEW_DIVISIONS = "vietnam-provinces==2025.10.1"
CONVERTER = "vietnam-address-converter==1.0.5"

KIND_BY_PREFIX = {
    "tỉnh": "tỉnh",
    "thành phố": "thành phố",
    "thị xã": "thị xã",
    "huyện": "huyện",
    "phường": "phường",
    "thị trấn": "thị trấn",
    "xã": "xã",
}


# Abbreviations in the GSO names that the converter spells out.
ABBREVIATIONS = {"N.T ": "Nông trường "}


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


def build(province_code: int, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_root, new_root, conv_root = (_fetch(r, tmp) for r in (OLD_DIVISIONS, NEW_DIVISIONS, CONVERTER))
        old = next(p for p in _nested(old_root) if p["code"] == province_code)
        rows = [r for r in _converter_rows(conv_root) if _key(r["old"]["province_name"]) == _key(old["name"])]
        new_name = {_key(r["new"]["province_name"]) for r in rows}
        new = next(p for p in _nested(new_root) if {_key(p["name"]), _key("Tỉnh " + p["name"])} & new_name)

    units = [
        dict(
            code=f"{old['code']:02d}",
            level="province",
            kind=_kind(old["name"]),
            name=nfc(old["name"]),
            parent_code="",
            aliases="",
        )
    ]
    commune_by_name = {}
    for district in old["districts"]:
        dcode = f"{district['code']:03d}"
        units.append(
            dict(
                code=dcode,
                level="district",
                kind=_kind(district["name"]),
                name=nfc(district["name"]),
                parent_code=units[0]["code"],
                aliases="",
            )
        )
        for ward in district["wards"]:
            wcode = f"{ward['code']:05d}"
            units.append(
                dict(
                    code=wcode,
                    level="commune",
                    kind=_kind(ward["name"]),
                    name=nfc(ward["name"]),
                    parent_code=dcode,
                    aliases=_key(ward["name"]) != tone_key(ward["name"]) and _expanded(ward["name"]) or "",
                )
            )
            commune_by_name[(_key(district["name"]), _key(ward["name"]))] = (dcode, wcode, nfc(ward["name"]))
    units = pd.DataFrame(units)

    new_code_by_name = {_key(w["name"]): f"{w['code']:05d}" for w in new["wards"]}
    cross = []
    for r in rows:
        dcode, wcode, wname = commune_by_name[(_key(r["old"]["district_name"]), _key(r["old"]["ward_name"]))]
        new_name_ = next(nfc(w["name"]) for w in new["wards"] if _key(w["name"]) == _key(r["new"]["ward_name"]))
        cross.append(
            dict(
                old_code=wcode,
                old_name=wname,
                old_district_code=dcode,
                new_code=new_code_by_name[_key(r["new"]["ward_name"])],
                new_name=new_name_,
            )
        )
    cross = pd.DataFrame(cross).sort_values("old_code", ignore_index=True)
    if len(cross) != (units.level == "commune").sum() or cross.old_code.duplicated().any():
        raise SystemExit("the crosswalk does not map every old commune exactly once")
    spans = cross.groupby("new_code").old_district_code.nunique()
    cross["new_spans_districts"] = cross.new_code.map(spans > 1)

    communes_2025 = (
        cross[["new_code", "new_name"]]
        .drop_duplicates()
        .rename(columns={"new_code": "code", "new_name": "name"})
        .assign(level="commune_2025", parent_code=f"{new['code']:02d}")
        .sort_values("code", ignore_index=True)
    )
    communes_2025["kind"] = communes_2025.name.map(_kind)
    communes_2025["aliases"] = ""
    communes_2025 = communes_2025[units.columns]

    out.mkdir(parents=True, exist_ok=True)
    units.to_csv(out / "units.csv", index=False, lineterminator="\n")
    communes_2025.to_csv(out / "communes_2025.csv", index=False, lineterminator="\n")
    cross.to_csv(out / "crosswalk_2025.csv", index=False, lineterminator="\n")
    (out / "PROVENANCE.md").write_text(
        f"# Provenance of the unit tables\n\n"
        f"Built by `scripts/build_units.py --province-code {province_code}` on {dt.date.today().isoformat()}.\n\n"
        f"| file | source (PyPI) | data version |\n|---|---|---|\n"
        f"| units.csv | `{OLD_DIVISIONS}` | 2025-01-04 (GSO, before the reform of 1/7/2025) |\n"
        f"| communes_2025.csv | `{NEW_DIVISIONS}` | 2025-10-18 (GSO codes after the reform) |\n"
        f"| crosswalk_2025.csv | `{CONVERTER}` (mapping `admin_mapping_old_to_new_10_25`), joined by name to the two above | 10/2025 |\n\n"
        f"Counts: {(units.level == 'district').sum()} districts, {(units.level == 'commune').sum()} communes before the reform; "
        f"{len(communes_2025)} communes after it, {int((spans > 1).sum())} of which take in communes of two old districts "
        f"(`new_spans_districts`).\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province-code", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="default: data/units/<province code>")
    args = parser.parse_args()
    build(args.province_code, args.out or Path("data/units") / f"{args.province_code:02d}")


if __name__ == "__main__":
    main()

"""District reports saved by other spreadsheet programs: LibreOffice (.ods) and older
Excel or WPS Office (.xls) files are taken in with the same checks and messages as
.xlsx files. The files are made by LibreOffice itself, as districts make them."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers import filled_form, long_table

from d8lib.intake.store import Store
from d8lib.intake.submissions import intake

VALUES = {
    "O1": {"value": 20, "people": 100, "female": 60, "male": 40, "ethnic_minority": 90},
    "O8": {"value": 4, "people": 150, "female": 100, "male": 50, "ethnic_minority": 140},
}


def saved_as(source, suffix: str, folder):
    """``source`` opened and saved by LibreOffice as ``suffix`` (ods or xls)."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc)")
    out = folder / suffix
    out.mkdir(exist_ok=True)
    target = {"ods": "ods", "xls": "xls:MS Excel 97"}[suffix]
    done = subprocess.run(
        [
            office,
            "--headless",
            f"-env:UserInstallation=file://{folder}/profile",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    converted = out / f"{source.stem}.{suffix}"
    assert done.returncode == 0 and converted.exists(), done.stdout + done.stderr
    return converted


def values_of(store: Store):
    return (
        store.values()[["district", "period", "indicator", "value", "people", "female", "male"]]
        .sort_values("indicator")
        .reset_index(drop=True)
    )


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["ods", "xls"])
def test_a_form_saved_by_another_program_is_taken_in_like_the_xlsx(tmp_path, plan, suffix):
    xlsx = filled_form(plan, "085", "2024", tmp_path / "bac-ha-2024.xlsx", VALUES)
    reference = Store(tmp_path / "reference")
    assert intake([xlsx], reference, plan, plan.units())[0].status == "accepted"
    other = saved_as(xlsx, suffix, tmp_path)
    store = Store(tmp_path / "store")
    result = intake([other], store, plan, plan.units())[0]
    assert result.status == "accepted", [str(p) for p in result.problems]
    assert values_of(store).equals(values_of(reference))
    assert [p.read_bytes() for p in store.raw.iterdir()] == [other.read_bytes()]  # kept as received


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["ods", "xls"])
def test_the_same_checks_and_messages(tmp_path, plan, suffix):
    broken = dict(VALUES, O8={**VALUES["O8"], "male": 51})  # persons by sex do not add up
    other = saved_as(filled_form(plan, "085", "2024", tmp_path / "loi.xlsx", broken), suffix, tmp_path)
    result = intake([other], Store(tmp_path / "store"), plan, plan.units())[0]
    assert result.status == "rejected"
    assert "sexes_do_not_add_up" in {p.code for p in result.problems}
    table = saved_as(
        long_table(
            tmp_path / "bang.csv", [{"district": "Bắc Hà", "period": "2024", "indicator": "O1", "value": "abc"}]
        ),
        suffix,
        tmp_path,
    )
    result = intake([table], Store(tmp_path / "store2"), plan, plan.units())[0]
    assert result.status == "rejected" and any(p.value == "abc" for p in result.problems)
    damaged = tmp_path / f"damaged.{suffix}"
    damaged.write_bytes(other.read_bytes()[:200])
    result = intake([damaged], Store(tmp_path / "store3"), plan, plan.units())[0]
    assert result.status == "rejected" and {p.code for p in result.problems} == {"unreadable_file"}

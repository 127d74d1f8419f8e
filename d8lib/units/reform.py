"""Reporting after the reform of local government of 1 July 2025: the districts are
gone and the new communes (unit level ``commune_2025``) report the rounds due after it.

The plan allocates its targets to the old districts, so a new commune's figures are
set against them through the crosswalk: a new commune formed within one old district
counts in that district; one formed from communes of two old districts (it ``spans``
them) counts in the province's total and in no district's. An old district and the new
communes within it never both report the same round (intake refuses the second).
"""

from __future__ import annotations

import pandas as pd

from d8lib.units.registry import Units

LEVEL = "commune_2025"


def new_communes(units: Units) -> pd.DataFrame:
    """The new communes: unit (code), name, districts (the old districts they were formed
    from, as a tuple) and spans (more than one)."""
    return units.derived(_new_communes)


def _new_communes(units: Units) -> pd.DataFrame:
    communes = units.at_level(LEVEL)[["code", "name"]].rename(columns={"code": "unit"})
    origins = units.crosswalk.groupby("new_code").old_district_code.agg(lambda s: tuple(sorted(set(s))))
    communes["districts"] = communes.unit.map(origins).map(lambda d: d if isinstance(d, tuple) else ())
    communes["spans"] = communes.districts.map(len).gt(1)
    return communes


def old_district_of(units: Units) -> dict[str, str]:
    """Each new commune formed within one old district, with that district's code."""
    communes = new_communes(units)
    whole = communes[communes.districts.map(len).eq(1)]
    return dict(zip(whole.unit, whole.districts.map(lambda d: d[0])))


def by_old_district(values: pd.DataFrame, units: Units) -> pd.DataFrame:
    """Stored values with each new commune's rows counted in its old district (``district``);
    the rows of a commune that spans two keep its own code. ``reported_by`` keeps who sent them."""
    mapped = values.district.map(old_district_of(units))
    return values.assign(reported_by=values.district, district=mapped.fillna(values.district))


def overlapping(units: Units, unit: str) -> set[str]:
    """The reporting units whose reports of a round would count twice with ``unit``'s: an
    old district and the new communes formed from it."""
    communes = new_communes(units)
    if unit in set(communes.unit):
        return set(communes.set_index("unit").districts[unit])
    return set(communes.unit[communes.districts.map(lambda d: unit in d)])

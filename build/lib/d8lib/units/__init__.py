"""Units in time: provinces, districts and communes with their GSO codes, names as
people type them, and the 2025 reform (communes of today, the crosswalk from the
former ones). ``resolve`` looks a name up in the default plan's unit tables."""

from __future__ import annotations

from functools import lru_cache

import yaml

from d8lib.core.paths import default_plan_path
from d8lib.units.registry import AmbiguousUnitError, UnitError, Units, UnknownUnitError, load_units

__all__ = ["AmbiguousUnitError", "UnitError", "UnknownUnitError", "Units", "default_units", "load_units", "resolve"]


@lru_cache(maxsize=1)
def default_units() -> Units:
    """The unit tables that the default plan names (its ``units`` folder)."""
    plan = default_plan_path()
    folder = yaml.safe_load(plan.read_text(encoding="utf-8"))["units"]
    return load_units((plan.parent / folder).resolve())


def resolve(name: str, level: str | None = None, within: str | None = None) -> str:
    """The GSO code of a unit of the default tables; see ``Units.resolve``."""
    return default_units().resolve(name, level=level, within=within)

"""Organisational units: province, districts and communes with GSO codes, name
resolution as people type names, and the crosswalk to the communes of the reform.

The tables live in a folder of CSV files (default: the one the default plan names,
built by ``scripts/build_units.py``): ``units.csv`` (levels ``province``, ``district``,
``commune``), ``communes_2025.csv`` (level ``commune_2025``) and
``crosswalk_2025.csv``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from d8lib.core.errors import Bilingual
from d8lib.core.text import ascii_key, has_diacritics, nfc, tone_key

LEVELS = ("province", "district", "commune", "commune_2025")

# What people write before a name, and the unit type it stands for. Matched on the
# diacritic-free form, longest first, so "TP." and "Thanh pho" both say "thành phố".
_PREFIXES = {
    "tinh": "tỉnh",
    "thanh pho": "thành phố",
    "tp": "thành phố",
    "thi xa": "thị xã",
    "tx": "thị xã",
    "huyen": "huyện",
    "h": "huyện",
    "quan": "quận",
    "dac khu": "đặc khu",
    "thi tran": "thị trấn",
    "tt": "thị trấn",
    "phuong": "phường",
    "p": "phường",
    "xa": "xã",
}
_PREFIX_RE = re.compile(r"^(" + "|".join(sorted(map(re.escape, _PREFIXES), key=len, reverse=True)) + r")\s+(?=\S)")


class UnitError(Bilingual, LookupError):
    """A name that does not resolve to exactly one unit."""


class UnknownUnitError(UnitError):
    """No unit has this name; ``suggestions`` holds close names."""

    def __init__(self, name: str, level: str | None, suggestions: list[str]):
        self.name, self.level, self.suggestions = name, level, suggestions
        hint_vi = f" Có phải: {', '.join(suggestions)}?" if suggestions else ""
        hint_en = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Không tìm thấy đơn vị «{name}».{hint_vi}", f"Unknown unit '{name}'.{hint_en}")


class AmbiguousUnitError(UnitError):
    """Several units fit this name; ``candidates`` holds (code, name) pairs."""

    def __init__(self, name: str, level: str | None, candidates: list[tuple[str, str]]):
        self.name, self.level, self.candidates = name, level, candidates
        listed = ", ".join(f"{n} ({c})" for c, n in candidates)
        super().__init__(f"Tên «{name}» không rõ, có thể là: {listed}", f"Ambiguous unit '{name}', could be: {listed}")


def _split_prefix(text: str) -> tuple[str | None, str]:
    """(unit type named by a leading prefix or None, the name without it)."""
    folded = ascii_key(text)
    match = _PREFIX_RE.match(folded)
    if not match:
        return None, text
    words_in_prefix = len(match.group(1).split())
    rest = tone_key(text).split(" ")[words_in_prefix:]
    return _PREFIXES[match.group(1)], " ".join(rest)


def _compact(key: str) -> str:
    return key.replace(" ", "")


@dataclass(frozen=True)
class Units:
    """The reference tables of one province: ``table`` and ``crosswalk`` are DataFrames."""

    table: pd.DataFrame
    crosswalk: pd.DataFrame
    _index: pd.DataFrame = field(init=False, repr=False, compare=False)
    _resolved: dict = field(init=False, repr=False, compare=False)
    _derived: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = []
        for unit in self.table.itertuples(index=False):
            names = [unit.name] + [a for a in str(unit.aliases or "").split(";") if a]
            for spelled in names:
                kind, bare = _split_prefix(spelled)
                rows.append(
                    dict(
                        code=unit.code,
                        level=unit.level,
                        kind=unit.kind,
                        name=unit.name,
                        parent_code=unit.parent_code,
                        tone=tone_key(bare),
                        plain=ascii_key(bare),
                        compact=_compact(ascii_key(bare)),
                    )
                )
        object.__setattr__(self, "_index", pd.DataFrame(rows))
        object.__setattr__(self, "_resolved", {})
        object.__setattr__(self, "_derived", {})

    def derived(self, compute: Callable[[Units], pd.DataFrame]) -> pd.DataFrame:
        """A table computed from these units by ``compute``, computed once (a copy each call)."""
        if compute not in self._derived:
            self._derived[compute] = compute(self)
        return self._derived[compute].copy()

    def name_of(self, code: str, level: str | None = None) -> str:
        """The official name of the unit with this code."""
        rows = self.table[(self.table.code == code) & ((self.table.level == level) if level else True)]
        if rows.empty:
            raise UnknownUnitError(code, level, [])
        return rows.name.iloc[0]

    def kind_of(self, code: str, level: str) -> str:
        """The kind of a unit (huyện, thị xã, xã, phường, ...)."""
        rows = self.table[(self.table.code == code) & (self.table.level == level)]
        return rows.kind.iloc[0] if len(rows) else ""

    @staticmethod
    def prefix_kind(name: str) -> str | None:
        """The kind of unit a name's prefix says ("Xã X": xã), or None."""
        return _split_prefix(nfc(name))[0]

    def at_level(self, level: str) -> pd.DataFrame:
        """The units of one level (``province``, ``district``, ``commune``, ``commune_2025``)."""
        return self.table[self.table.level == level].reset_index(drop=True)

    def resolve(self, name: str, level: str | None = None, within: str | None = None) -> str:
        """The GSO code of the unit that ``name`` means.

        Accepts composed or decomposed Unicode, old- or new-style tone marks, any case,
        prefixes and abbreviations ("Huyện", "TX", "TP.", "Xã", ...), missing diacritics
        and missing spaces ("Hoabinh"). A spelling with diacritics is matched exactly first; a
        spelling without any is matched without diacritics, so where two units differ only
        by diacritics it is ambiguous. Without ``level`` the units before the reform are
        searched; post-reform communes only with ``level="commune_2025"``. ``within``
        restricts to the children of a unit code.
        Raises ``UnknownUnitError`` or ``AmbiguousUnitError``.
        """
        key = (name, level, within)
        if key not in self._resolved:
            try:
                self._resolved[key] = self._resolve(name, level, within)
            except UnitError as exc:
                self._resolved[key] = exc
        found = self._resolved[key]
        if isinstance(found, UnitError):
            raise found
        return found

    def _resolve(self, name: str, level: str | None, within: str | None) -> str:
        if level is not None and level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
        text = nfc(name).strip()
        pool = self._index
        pool = pool[pool.level == level] if level else pool[pool.level != "commune_2025"]
        if within:
            pool = pool[pool.parent_code == within]
        if text.isdigit() and text in set(pool.code):  # a GSO code as written on the forms
            return text
        kind, bare = _split_prefix(text)
        # A leading word that looks like a prefix may belong to the name ("Xà Phìn"):
        # the name as written is tried too.
        readings = [(kind, bare), (None, text)] if kind else [(None, text)]
        for kind, bare in readings:
            found = self._match(pool, kind, bare, exact=has_diacritics(text))
            if len(found) == 1:
                return found.code.iloc[0]
            if len(found) > 1:
                raise AmbiguousUnitError(name, level, list(zip(found.code, found.name)))
        raise UnknownUnitError(name, level, self._suggest(readings[0][1], pool))

    @staticmethod
    def _match(pool: pd.DataFrame, kind: str | None, bare: str, exact: bool) -> pd.DataFrame:
        if kind:
            of_kind = pool[pool.kind == kind]
            pool = of_kind if not of_kind.empty else pool
        tiers = [("plain", ascii_key(bare)), ("compact", _compact(ascii_key(bare)))]
        if exact:
            tiers.insert(0, ("tone", tone_key(bare)))
        for column, key in tiers:
            found = pool[pool[column] == key].drop_duplicates(["code", "level"])
            if not found.empty:
                return found
        return pool.iloc[:0]

    def _suggest(self, bare: str, pool: pd.DataFrame) -> list[str]:
        keys = dict(zip(pool.plain, pool.name))
        close = difflib.get_close_matches(ascii_key(bare), list(keys), n=3, cutoff=0.6)
        return [keys[k] for k in close]

    def to_2025(self, commune_code: str) -> str:
        """The post-reform commune that an old commune became."""
        rows = self.crosswalk[self.crosswalk.old_code == commune_code]
        if rows.empty:
            raise UnknownUnitError(commune_code, "commune", [])
        return rows.new_code.iloc[0]


def load_units(directory: str | Path) -> Units:
    """Read the unit tables of a province from a folder of CSV files (a plan names its
    folder: ``Plan.units``)."""
    directory = Path(directory)
    text_columns = dict.fromkeys(["code", "parent_code", "old_code", "old_district_code", "new_code"], str)
    table = pd.concat(
        [
            pd.read_csv(directory / f, dtype=text_columns, keep_default_na=False)
            for f in ("units.csv", "communes_2025.csv")
            if (directory / f).exists()
        ],
        ignore_index=True,
    )
    table["name"] = table["name"].map(nfc)
    crosswalk_file = directory / "crosswalk_2025.csv"
    crosswalk = (
        pd.read_csv(crosswalk_file, dtype=text_columns, keep_default_na=False)
        if crosswalk_file.exists()
        else pd.DataFrame(
            columns=["old_code", "old_name", "old_district_code", "new_code", "new_name", "new_spans_districts"]
        )
    )
    crosswalk["new_spans_districts"] = crosswalk["new_spans_districts"].astype(str).eq("True")
    return Units(table, crosswalk)

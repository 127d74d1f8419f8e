"""Survey codebooks: which columns of a dataset's files are read, and how.

A codebook (``<data>/survey/codebook.yaml``) names, for each round, its files and
year; for each of d8's survey variables (``data/indicators/survey_variables.yaml``)
the column it comes from, its type and the map of its values (choice names or
labels, in any Unicode form and case, onto d8's values; a value may map to null,
"missing"); variables derived from others (age groups, with their bins); where the
weights come from when the field files lack them; and the columns that carry
personal data. Only the columns it names are read: personal data never enter an
evaluation, and a column nobody named is never looked at.

``read_round`` returns one round with d8's variable names, or raises
``CodebookError`` naming file, row, column and value of every problem found (up to
``MAX_PROBLEMS``), in Vietnamese and English.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core.errors import Bilingual
from d8lib.core.paths import DATA_DIR
from d8lib.core.text import printable

VARIABLES_PATH = DATA_DIR / "indicators" / "survey_variables.yaml"
TYPES = ("code", "integer", "number", "binary", "category")
MAX_PROBLEMS = 20
BINARY = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}
REVIEWS = ("rejected", "awaiting")  # what a reviewer's verdict can leave out of an import


class CodebookError(Bilingual, ValueError):
    """A codebook that cannot be used, or survey files that do not follow it."""


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str
    value: str
    vi: str
    en: str

    def __str__(self) -> str:
        place = (
            printable(self.file)
            + (f", dòng/row {self.row}" if self.row else "")
            + f", cột/column «{printable(self.column)}»"
        )
        value = f", giá trị/value «{printable(self.value)}»" if self.value != "" else ""
        return f"{place}{value}: {self.vi} / {self.en}"


def normalise(text) -> str:
    """A value as people type it, compared without regard to Unicode form, case or spaces."""
    return " ".join(unicodedata.normalize("NFC", str(text)).casefold().split())


@lru_cache(maxsize=1)
def variables() -> dict:
    """d8's survey variables: type, closed values, range."""
    return yaml.safe_load(VARIABLES_PATH.read_text(encoding="utf-8"))


@dataclass
class Codebook:
    path: Path
    rounds: dict  # round -> {"year": int, "files": [names]}
    columns: dict  # d8 variable -> {"column", "type", "values", "range"}
    derived: dict = field(default_factory=dict)
    personal: list = field(default_factory=list)
    weights: dict | None = None
    leave_out: tuple = ("rejected",)  # submissions left out by their review: rejected, awaiting

    @property
    def folder(self) -> Path:
        return self.path.parent

    def sources(self, optional: bool = False) -> list[str]:
        """The columns read from the round files (the codebook's allowlist): those every
        file must have, or with ``optional`` those read where a file has them."""
        external = set((self.weights or {}).get("variables", []))
        return [
            spec["column"]
            for name, spec in self.columns.items()
            if name not in external and bool(spec.get("optional")) == optional
        ]


def load_codebook(path: str | Path, text: str | None = None) -> Codebook:
    """Read and check a codebook (from ``text`` instead of the file, when given)."""
    path = Path(path)
    if text is None and not path.exists():
        raise CodebookError(f"Không có sổ mã {path}", f"No codebook at {path}")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8") if text is None else text) or {}
    except yaml.YAMLError as exc:
        raise CodebookError(
            f"Sổ mã {path.name} không đúng cú pháp YAML", f"The codebook {path.name} is not valid YAML: {exc}"
        ) from exc
    known = variables()
    columns = {}
    problems = []
    for name, entry in (spec.get("columns") or {}).items():
        entry = {"column": entry} if isinstance(entry, str) else dict(entry)
        if name not in known:
            problems.append(f"biến «{name}» không có trong danh mục / '{name}' is not a d8 survey variable")
            continue
        entry.setdefault("column", name)
        entry.setdefault("type", known[name]["type"])
        entry.setdefault("range", known[name].get("range"))
        if entry["type"] not in TYPES:
            problems.append(f"«{name}»: kiểu «{entry['type']}» không hợp lệ / '{name}': unknown type '{entry['type']}'")
        values = entry.get("values")
        if isinstance(values, list):
            values = {v: v for v in values}
        if values is None and entry["type"] == "category":
            values = {v: v for v in known[name].get("values", [])}
        if values is not None:
            closed = known[name].get("values")
            wrong = [v for v in values.values() if v is not None and closed and v not in closed]
            if wrong:
                problems.append(
                    f"«{name}»: giá trị {wrong} không thuộc {closed} / '{name}': values {wrong} are not among {closed}"
                )
            entry["values"] = {normalise(k): v for k, v in values.items()}
        columns[name] = entry
    personal = list(spec.get("personal") or [])
    read = {c for e in columns.values() for c in (e["column"] if isinstance(e["column"], list) else [e["column"]])}
    leaked = [c for c in personal if c in read or c in {r.split("/")[0] for r in read}]
    if leaked:
        problems.append(
            f"cột cá nhân được khai báo để đọc: {leaked} / personal columns are mapped to be read: {leaked}"
        )
    missing = [n for n, v in known.items() if v.get("required") and n not in columns]
    if missing:
        problems.append(f"thiếu biến bắt buộc {missing} / required variables missing: {missing}")
    if problems:
        raise CodebookError(
            f"Sổ mã {path.name}: " + "; ".join(problems), f"Codebook {path.name}: " + "; ".join(problems)
        )
    rounds = {
        name: {"year": int(r["year"]), "files": list(r["files"])} for name, r in (spec.get("rounds") or {}).items()
    }
    leave_out = (spec.get("review") or {}).get("leave_out", ["rejected"])
    if not isinstance(leave_out, list) or set(leave_out) - set(REVIEWS):
        raise CodebookError(
            f"Sổ mã {path.name}: «review: leave_out» phải là danh sách trong {list(REVIEWS)}",
            f"Codebook {path.name}: 'review: leave_out' must be a list among {list(REVIEWS)}: {leave_out!r}",
        )
    return Codebook(
        path, rounds, columns, dict(spec.get("derived") or {}), personal, spec.get("weights"), tuple(leave_out)
    )


def _read_statistical(path: Path, required: list[str], optional: tuple) -> pd.DataFrame:
    """The named columns of a Stata (.dta) or SPSS (.sav) file as text; a value with a
    value label is read as its label."""
    import pyreadstat

    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else pyreadstat.read_sav
    try:
        _, meta = reader(str(path), metadataonly=True)
    except Exception as exc:  # the reader's own words say what is wrong with the file
        raise CodebookError(f"{path.name}: không đọc được", f"{path.name}: cannot be read: {exc}") from exc
    missing = [c for c in required if c not in meta.column_names]
    if missing:
        raise CodebookError(f"{path.name}: thiếu cột {missing}", f"{path.name}: missing columns {missing}")
    usecols = list(required) + [c for c in optional if c in meta.column_names]
    frame, meta = reader(str(path), usecols=usecols, apply_value_formats=False)
    text = pd.DataFrame(index=frame.index)
    for column in usecols:
        labels = meta.variable_value_labels.get(column, {})
        values = frame[column]
        as_text = values.map(
            lambda v: (
                None
                if v is None or (isinstance(v, float) and np.isnan(v)) or v == ""
                else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
            )
        )
        text[column] = [labels.get(v, t) if t is not None else None for v, t in zip(values, as_text)]
    return text


def _read_table(path: Path, required: list[str], optional: tuple = ()) -> tuple[pd.DataFrame, str | None]:
    """The named columns of a CSV file, an Excel file's first sheet, or a Stata or SPSS
    file, as text; ``optional`` columns where the file has them."""
    if not path.exists():
        raise CodebookError(f"Không có tệp {path}", f"No file {path}")
    if path.suffix.lower() in (".dta", ".sav"):
        return _read_statistical(path, required, optional), None
    excel = path.suffix.lower() in (".xlsx", ".xlsm")
    header = (
        pd.read_excel(path, sheet_name=0, nrows=0, engine="openpyxl") if excel else pd.read_csv(path, nrows=0)
    ).columns
    sheet = None
    if excel:
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).worksheets[0].title
    missing = [c for c in required if c not in header]
    if missing:
        where = path.name + (f", trang/sheet {sheet}" if sheet else "")
        raise CodebookError(f"{where}: thiếu cột {missing}", f"{where}: missing columns {missing}")
    usecols = list(required) + [c for c in optional if c in header]
    if excel:
        table = pd.read_excel(path, sheet_name=0, usecols=usecols, dtype=str, keep_default_na=False, engine="openpyxl")
        return table, sheet
    return pd.read_csv(path, usecols=usecols, dtype=str, keep_default_na=False, na_values=[""]), None


OTHER = "other"


def convert(
    raw: pd.DataFrame,
    codebook: Codebook,
    file: str,
    row_offset: int = 2,
    places: pd.Series | None = None,
    group_undeclared: bool = False,
) -> tuple[pd.DataFrame, list]:
    """The codebook's variables from raw text columns, and the problems found; a
    problem's place is the file and row (``row_offset`` + index), or ``places[index]``.

    With ``group_undeclared``, a category value that the codebook does not declare is
    read as "other" where the category has one (never shown as typed: it may be a
    name); ``attrs["grouped_as_other"]`` counts them per variable."""
    out = pd.DataFrame(index=raw.index)
    out.attrs["grouped_as_other"] = {}
    problems: list[Problem] = []

    def flag(mask: pd.Series, column: str, vi: str, en: str) -> None:
        for index in raw.index[mask.to_numpy()][:MAX_PROBLEMS]:
            value = str(raw.at[index, column])
            problems.append(
                Problem(places[index], None, column, value, vi, en)
                if places is not None
                else Problem(file, int(index) + row_offset, column, value, vi, en)
            )

    for name, spec in codebook.columns.items():
        column = spec["column"]
        if column not in raw:
            continue
        text = raw[column].astype("string").str.strip().replace("", pd.NA)
        present = text.notna()
        kind = spec["type"]
        if kind == "code":
            out[name] = text.astype(object).where(present, None)
            continue
        if spec.get("values") is not None or kind == "binary":
            mapping = spec.get("values") if spec.get("values") is not None else BINARY
            keys = text.astype(object).where(present, None).map(normalise, na_action="ignore")
            known = keys.isin(list(mapping)) | ~present
            if group_undeclared and kind == "category" and OTHER in mapping.values() and (~known).any():
                out.attrs["grouped_as_other"][name] = int((~known).sum())
                keys = keys.where(known, next(k for k, v in mapping.items() if v == OTHER))
                known = keys.isin(list(mapping)) | ~present
            flag(~known, column, "mã không có trong sổ mã", "code not in the codebook")
            values = keys.map(mapping).where(known)
            if kind == "category":
                out[name] = values.astype(object).where(values.notna(), None)
                continue
            text = values.astype("string").where(values.notna())
            present = text.notna()
        numbers = pd.to_numeric(text, errors="coerce")
        bad = present & numbers.isna()
        flag(bad, column, "không phải số", "not a number")
        numbers = numbers.astype(float)
        infinite = np.isinf(numbers)
        flag(infinite, column, "không phải số hữu hạn", "not a finite number")
        numbers = numbers.where(~infinite)
        if kind in ("integer", "binary"):
            fractional = numbers.notna() & (numbers != np.round(numbers))
            flag(fractional, column, "không phải số nguyên", "not a whole number")
        if kind == "binary":
            flag(numbers.notna() & ~numbers.isin([0, 1]), column, "phải là 0 hoặc 1", "must be 0 or 1")
        low, high = spec.get("range") or [None, None]
        if low is not None:
            flag(numbers < low, column, f"nhỏ hơn {low}", f"below {low}")
        if high is not None:
            flag(numbers > high, column, f"lớn hơn {high}", f"above {high}")
        out[name] = numbers
    return out, problems


def derive(frame: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Add the derived variables (age groups by the codebook's bins)."""
    for name, spec in codebook.derived.items():
        bins = [float(b) for b in spec["bins"]]
        frame[name] = pd.cut(frame[spec["from"]], bins=bins, labels=spec["labels"], right=False).astype(object)
        frame[name] = frame[name].where(frame[name].notna(), None)
    return frame


def join_weights(frame: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, list]:
    """Bring the variables of the weights file (``weights: {file, by, key, variables}``)
    to every row, joined by the d8 variable ``by`` (the file's column ``key``)."""
    spec = codebook.weights
    if not spec:
        return frame, []
    by, names = spec["by"], list(spec["variables"])
    key = spec.get("key", codebook.columns[by]["column"])
    table, _ = _read_table(codebook.folder / spec["file"], [key] + [codebook.columns[n]["column"] for n in names])
    part = Codebook(codebook.path, {}, {n: codebook.columns[n] for n in names})
    converted, problems = convert(table, part, spec["file"])
    converted[by] = table[key].astype("string").str.strip().astype(object)
    duplicated = converted[by].duplicated()
    problems += [
        Problem(spec["file"], int(i) + 2, key, str(v), "trùng mã", "duplicated key")
        for i, v in converted[by][duplicated].items()
    ][:MAX_PROBLEMS]
    if duplicated.any():
        return frame, problems
    return frame.drop(columns=[n for n in names if n in frame]).merge(converted, how="left", on=by), problems


def read_round(codebook: Codebook, round_name: str) -> pd.DataFrame:
    """One round's rows with d8's variable names, read through the codebook; category
    values it does not declare are read as "other" (counted in ``attrs``)."""
    if round_name not in codebook.rounds:
        raise CodebookError(f"Sổ mã không có vòng «{round_name}»", f"The codebook has no round '{round_name}'")
    frames, problems = [], []
    for name in codebook.rounds[round_name]["files"]:
        raw, sheet = _read_table(codebook.folder / name, codebook.sources(), codebook.sources(optional=True))
        label = name if sheet is None else f"{name} [{sheet}]"
        converted, found = convert(raw, codebook, label, group_undeclared=True)
        frames.append(converted)
        problems += found
    grouped = {}
    for converted in frames:
        for name, count in converted.attrs["grouped_as_other"].items():
            grouped[name] = grouped.get(name, 0) + count
    frame = pd.concat(frames, ignore_index=True)
    frame, found = join_weights(frame, codebook)
    problems += found
    if codebook.weights and "weight" in frame:
        unweighted = frame.weight.isna()
        by = codebook.weights["by"]
        problems += [
            Problem(codebook.weights["file"], None, by, str(v), "không có trọng số", "no weight")
            for v in frame.loc[unweighted, by].unique()[:MAX_PROBLEMS]
        ]
    if problems:
        shown = "\n".join(map(str, problems[:MAX_PROBLEMS]))
        raise CodebookError(
            f"{len(problems)} lỗi trong số liệu khảo sát vòng «{round_name}»",
            f"{len(problems)} problems in the survey data of round '{round_name}':\n{shown}",
        )
    frame = derive(frame, codebook)
    frame.attrs["grouped_as_other"] = grouped
    return frame

"""Exports of KoboToolbox and ODK Central as one flat table of question names.

``read_export`` opens what the field tools deliver: an xlsx export (the main table on
the first sheet, each repeat group on a sheet of its own), a csv export, or ODK
Central's zip of csv files (``form.csv``, ``form-<repeat>.csv``). ``flatten`` heads
every column with its question's name (whatever the group path, "/" or "-", or the
label used as header), turns select_one labels into choice names, splits
select_multiple answers into one 0/1 column per choice (``question/choice``), and
joins the repeat rows (the women of a household) to their parent row through
``_parent_index`` (Kobo) or ``PARENT_KEY`` (ODK); a parent without children stays as
one row. Only the columns asked for are kept.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from d8lib.codebook import CodebookError, Problem, normalise
from d8lib.xlsform import Form

KEYS = ("_index", "KEY")
PARENT_KEYS = ("_parent_index", "PARENT_KEY")
SUBMISSION_IDS = ("_uuid", "meta/instanceID", "meta-instanceID", "instanceID", "KEY")
MAX_BYTES = 200 * 2**20


def _csv(data: bytes, name: str) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodebookError(
            f"{name}: không được mã hóa UTF-8 (byte {exc.start})", f"{name}: not UTF-8 text (byte {exc.start})"
        ) from exc
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as exc:
        raise CodebookError(f"{name}: tệp rỗng", f"{name}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise CodebookError(f"{name}: không đọc được dạng CSV", f"{name}: not readable as CSV: {exc}") from exc


def read_export(path: str | Path, form: Form) -> dict:
    """The export's tables: {None: (main table, place), repeat name: (table, place)}."""
    path = Path(path)
    if not path.exists():
        raise CodebookError(f"Không có tệp {path}", f"No file {path}")
    size = path.stat().st_size
    if size == 0:
        raise CodebookError(f"{path.name}: tệp rỗng", f"{path.name}: the file is empty")
    if size > MAX_BYTES:
        raise CodebookError(
            f"{path.name}: tệp lớn hơn {MAX_BYTES // 2**20} MB", f"{path.name}: larger than {MAX_BYTES // 2**20} MB"
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return {None: (_csv(path.read_bytes(), path.name), path.name)}
    if not zipfile.is_zipfile(path):
        raise CodebookError(
            f"{path.name}: không phải tệp Excel (.xlsx), CSV hay tệp nén ZIP của ODK Central",
            f"{path.name}: not an Excel workbook (.xlsx), a CSV file or ODK Central's ZIP of CSV files",
        )
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if suffix == ".zip" or not any(n.startswith("xl/") for n in names):
            csvs = {Path(n).stem: n for n in names if n.lower().endswith(".csv")}
            main = [stem for stem in csvs if not any(stem.endswith(f"-{r}") for r in form.repeats)]
            if len(main) != 1:
                raise CodebookError(
                    f"{path.name}: không tìm thấy đúng một bảng chính trong tệp nén",
                    f"{path.name}: expected one main table in the ZIP, found {sorted(main)}",
                )
            tables = {None: (_csv(archive.read(csvs[main[0]]), f"{path.name}/{csvs[main[0]]}"), csvs[main[0]])}
            for repeat in form.repeats:
                for stem, name in csvs.items():
                    if stem.endswith(f"-{repeat}"):
                        tables[repeat] = (_csv(archive.read(name), f"{path.name}/{name}"), name)
            return tables
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # a damaged workbook: the reader's own words say why
        raise CodebookError(
            f"{path.name}: không đọc được tệp Excel", f"{path.name}: cannot read the workbook: {exc}"
        ) from exc
    if not sheets:
        raise CodebookError(f"{path.name}: không có trang nào", f"{path.name}: the workbook has no sheet")
    names = list(sheets)
    tables = {None: (sheets[names[0]], f"{path.name} [{names[0]}]")}
    for repeat in form.repeats:
        for name in names[1:]:
            if repeat.startswith(name) or name.startswith(repeat[:31]):
                tables[repeat] = (sheets[name], f"{path.name} [{name}]")
    return tables


def _heads(table: pd.DataFrame, form: Form) -> dict:
    """Each column's question name, or ``question/choice`` for a select_multiple choice."""
    lookup = form.lookup()
    heads = {}
    for column in table.columns:
        text = str(column)
        if text in KEYS + PARENT_KEYS + SUBMISSION_IDS:
            heads[column] = text
            continue
        key = normalise(text)
        if key in lookup:
            heads[column] = lookup[key]
            continue
        last = normalise(text.split("/")[-1].split("-")[-1])
        if last in lookup and "/" not in text.split("-")[-1] and last != key:
            heads[column] = lookup[last]
            continue
        for separator in ("/", "-"):
            stem, _, choice = text.rpartition(separator)
            question = lookup.get(normalise(stem))
            if question and form.questions[question].type == "select_multiple":
                name = form.choice_values(question).get(normalise(choice))
                if name:
                    heads[column] = f"{question}/{name}"
                    break
    return heads


def _tidy(table: pd.DataFrame, place: str, form: Form, wanted: set[str]) -> pd.DataFrame:
    """One table headed by question names, select answers as choice names."""
    heads = _heads(table, form)
    keep = {
        c: h
        for c, h in heads.items()
        if h in wanted or h.split("/")[0] in wanted or h in KEYS + PARENT_KEYS + SUBMISSION_IDS
    }
    tidy = table[list(keep)].rename(columns=keep)
    tidy = tidy.loc[:, ~tidy.columns.duplicated()].copy()
    for name in list(tidy.columns):
        question = form.questions.get(name)
        if question is None or question.type not in ("select_one", "select_multiple"):
            continue
        choices = form.choice_values(name)
        text = tidy[name].astype("string").str.strip()
        if question.type == "select_one":
            names = text.map(lambda v, c=choices: c.get(normalise(v), v) if isinstance(v, str) else v)
            tidy[name] = names.astype(object)
            continue
        for choice in dict.fromkeys(choices.values()):
            column = f"{name}/{choice}"
            if column not in tidy:
                chosen = text.str.split().map(lambda parts, c=choice: c in parts if isinstance(parts, list) else np.nan)
                tidy[column] = chosen.map({True: "1", False: "0"})
    tidy["_place"] = [f"{place}, dòng/row {i + 2}" for i in range(len(tidy))]
    return tidy


def flatten(tables: dict, form: Form, wanted: set[str]) -> tuple[pd.DataFrame, list]:
    """One row per repeat row (or per submission without repeats), headed by question
    names; ``wanted`` are the question names to keep. Returns the table (``_place``
    says where each row came from) and the problems found."""
    problems = []
    main_table, main_place = tables[None]
    main = _tidy(main_table, main_place, form, wanted)
    if main.empty:
        raise CodebookError(f"{main_place}: không có phiếu nào", f"{main_place}: no submission in the export")
    ids = next((c for c in SUBMISSION_IDS if c in main), None)
    if ids:
        duplicated = main[ids].notna() & main[ids].duplicated(keep="first")
        problems += [
            Problem(p, None, ids, str(v), "phiếu bị gửi trùng", "duplicated submission")
            for p, v in zip(main._place[duplicated], main[ids][duplicated])
        ]
    repeats = [r for r in form.repeats if any(form.questions[q].repeat == r for q in wanted if q in form.questions)]
    for repeat in repeats:
        if repeat not in tables:
            raise CodebookError(
                f"Tệp xuất không có bảng của nhóm lặp «{repeat}»",
                f"The export has no table for the repeat group '{repeat}'",
            )
        child_table, child_place = tables[repeat]
        child = _tidy(child_table, child_place, form, wanted)
        key = next((k for k in KEYS if k in main), None)
        parent = next((k for k in PARENT_KEYS if k in child), None)
        if key is None or parent is None:
            raise CodebookError(
                f"{child_place}: thiếu cột nối với bảng chính ({'/'.join(PARENT_KEYS)})",
                f"{child_place}: no column linking the repeat rows to their submission ({'/'.join(PARENT_KEYS)})",
            )
        orphans = ~child[parent].isin(main[key])
        problems += [
            Problem(p, None, parent, str(v), "không có phiếu cha", "repeat row without a parent submission")
            for p, v in zip(child._place[orphans], child[parent][orphans])
        ]
        joined = main.drop(columns="_place").merge(
            child.drop(columns=[k for k in KEYS if k in child]), how="left", left_on=key, right_on=parent
        )
        joined["_place"] = joined["_place"].fillna(
            main.set_index(key)._place.reindex(joined[key]).reset_index(drop=True)
        )
        main = joined
    return main.reset_index(drop=True), problems

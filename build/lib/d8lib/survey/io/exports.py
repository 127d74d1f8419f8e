"""Exports of KoboToolbox and ODK Central as one flat table of question keys.

``read_export`` opens what the field tools deliver, after ``bounds`` has measured it
against ``survey_export`` in ``data/rules/limits.yaml``: Kobo's xlsx export (the main
table on the first sheet, each repeat on the sheet of its name), a csv export (Kobo's
";" or "," with every field quoted, ODK's), or ODK Central's zip (``<form>.csv`` and
``<form>-<repeat>.csv``, ``<repeat>~1`` for a second repeat of that name, at the top
of the zip). Each table of the form is matched exactly: two candidates for one table
are refused, and so is a table the form does not have a place for.

``flatten`` heads every column with its question's key (whatever the group path and
separator, or the label in any language used as header), turns select_one labels into
choice names, splits select_multiple answers into one 0/1 column per choice
(``question/choice``), and joins the rows of one repeat (the women of a household) to
their submission through ``_parent_index`` (Kobo) or ``PARENT_KEY`` (ODK); a
submission without rows stays as one row. Text is kept as written: only an empty
cell is missing.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from d8lib.intake import bounds
from d8lib.survey.io.codebook import CodebookError, Problem, normalise
from d8lib.survey.io.xlsform import Form

KEYS = ("_index", "KEY")
PARENT_KEYS = ("_parent_index", "PARENT_KEY")
SUBMISSION_IDS = ("_uuid", "meta/instanceID", "meta-instanceID", "instanceID", "KEY")
REVIEW_COLUMNS = ("_validation_status", "ReviewState")
LINKS = KEYS + PARENT_KEYS + SUBMISSION_IDS + REVIEW_COLUMNS


@dataclass
class Export:
    """The tables of an export: ``tables[None]`` the main one, ``tables[repeat id]``
    each repeat's, as (table, place); ``rivals[repeat id]`` the other repeats a sheet
    could equally be; ``kind`` "xlsx", "csv" or "zip"."""

    kind: str
    tables: dict
    rivals: dict = field(default_factory=dict)


def _limits() -> dict:
    return bounds.limits()["survey_export"]


def _csv(data: bytes, name: str) -> pd.DataFrame:
    """A csv table as text, its separator read from its header line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodebookError(
            f"{name}: không được mã hóa UTF-8 (byte {exc.start})", f"{name}: not UTF-8 text (byte {exc.start})"
        ) from exc
    if not text.strip():
        raise CodebookError(f"{name}: tệp rỗng", f"{name}: the file is empty")
    limit = _limits()["rows"]
    if text.count("\n") > limit + 1:
        raise CodebookError(f"{name}: nhiều hơn {limit:,} dòng", f"{name}: more than {limit:,} rows")
    header = text.split("\n", 1)[0]
    try:
        return pd.read_csv(
            io.StringIO(text), dtype=str, sep=bounds.separator(header), keep_default_na=False, na_values=[""]
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise CodebookError(f"{name}: không đọc được dạng CSV", f"{name}: not readable as CSV: {exc}") from exc


def _refuse_beyond_limits(path: Path) -> None:
    refusal = bounds.inspect(path, _limits())
    if refusal:
        raise CodebookError(f"{path.name}: {refusal.message_vi}", f"{path.name}: {refusal.message_en}")


def _zip_tables(path: Path, archive: zipfile.ZipFile, form: Form) -> Export:
    """ODK Central's csv files: the main table and one per repeat, named exactly."""
    limit = _limits()
    members = {i.filename: i for i in archive.infolist() if i.filename.lower().endswith(".csv")}
    top = {name[:-4]: name for name in members if "/" not in name}
    mains = sorted(stem for stem in top if not any(stem.endswith(f"-{r}") for r in form.repeats))
    if form.form_id in top:
        mains = [form.form_id]
    if len(mains) != 1:
        raise CodebookError(
            f"{path.name}: không tìm thấy đúng một bảng chính trong tệp nén (có {mains})",
            f"{path.name}: expected one main table in the ZIP, found {mains}",
        )

    def read(name: str) -> pd.DataFrame:
        info = members[name]
        if info.file_size > limit["unpacked_megabytes"] * bounds.MB:
            raise CodebookError(f"{path.name}/{name}: giải nén quá lớn", f"{path.name}/{name}: unpacks too large")
        with archive.open(info) as stream:  # the size the zip declares is not believed
            data = stream.read(limit["unpacked_megabytes"] * bounds.MB + 1)
        if len(data) > limit["unpacked_megabytes"] * bounds.MB:
            raise CodebookError(f"{path.name}/{name}: giải nén quá lớn", f"{path.name}/{name}: unpacks too large")
        return _csv(data, f"{path.name}/{name}")

    main = mains[0]
    unknown = sorted(set(top) - {main} - {f"{main}-{r}" for r in form.repeats})
    if unknown:
        raise CodebookError(
            f"{path.name}: tệp nén có bảng không thuộc biểu mẫu: {unknown}",
            f"{path.name}: the ZIP holds tables the form has no place for: {unknown}",
        )
    tables = {None: (read(top[main]), top[main])}
    for repeat in form.repeats:
        stem = f"{main}-{repeat}"
        if stem in top:
            tables[repeat] = (read(top[stem]), top[stem])
    return Export("zip", tables)


def _sheet_tables(path: Path, form: Form) -> Export:
    """Kobo's xlsx: the main table first, each repeat on the sheet of its name (Excel
    keeps 31 characters of it)."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as exc:  # a damaged workbook: the reader's own words say why
        raise CodebookError(
            f"{path.name}: không đọc được tệp Excel", f"{path.name}: cannot read the workbook: {exc}"
        ) from exc
    if not sheets:
        raise CodebookError(f"{path.name}: không có trang nào", f"{path.name}: the workbook has no sheet")
    names = list(sheets)
    export = Export("xlsx", {None: (sheets[names[0]], f"{path.name} [{names[0]}]")})
    for repeat in form.repeats:
        short = repeat.split("~")[0][:31]
        if short in names[1:]:
            export.tables[repeat] = (sheets[short], f"{path.name} [{short}]")
            export.rivals[repeat] = [r for r in form.repeats if r != repeat and r.split("~")[0][:31] == short]
    return export


def read_export(path: str | Path, form: Form) -> Export:
    """The export's tables, read within the limits of a survey export."""
    path = Path(path)
    if not path.is_file():
        raise CodebookError(f"Không có tệp {path}", f"No file {path}")
    if path.stat().st_size == 0:
        raise CodebookError(f"{path.name}: tệp rỗng", f"{path.name}: the file is empty")
    _refuse_beyond_limits(path)
    if path.suffix.lower() == ".csv":
        return Export("csv", {None: (_csv(path.read_bytes(), path.name), path.name)})
    if not zipfile.is_zipfile(path):
        raise CodebookError(
            f"{path.name}: không phải tệp Excel (.xlsx), CSV hay tệp nén ZIP của ODK Central",
            f"{path.name}: not an Excel workbook (.xlsx), a CSV file or ODK Central's ZIP of CSV files",
        )
    with zipfile.ZipFile(path) as archive:
        if path.suffix.lower() == ".zip" or not any(n.startswith("xl/") for n in archive.namelist()):
            return _zip_tables(path, archive, form)
    return _sheet_tables(path, form)


def _heads(table: pd.DataFrame, form: Form, keys: set) -> dict:
    """Each column's question key, or ``key/choice`` for a select_multiple choice."""
    lookup = form.headers(keys)
    heads = {}
    for column in table.columns:
        text = str(column).strip()
        if text in LINKS:
            heads[column] = text
        elif normalise(text) in lookup:
            heads[column] = lookup[normalise(text)]
    return heads


def _tidy(table: pd.DataFrame, place: str, form: Form, keys: set) -> pd.DataFrame:
    """One table headed by question keys, select answers as choice names."""
    heads = _heads(table, form, keys)
    tidy = table[list(heads)].rename(columns=heads)
    tidy = tidy.loc[:, ~tidy.columns.duplicated()].copy()
    for key in list(tidy.columns):
        question = form.questions.get(key)
        if question is None or question.type not in ("select_one", "select_multiple"):
            continue
        choices = form.choice_values(key)
        text = tidy[key].astype("string").str.strip().replace("", pd.NA)
        if question.type == "select_one":
            tidy[key] = text.map(lambda v, c=choices: c.get(normalise(v), v), na_action="ignore").astype(object)
            continue
        words = text.map(lambda v, c=choices: [c.get(normalise(w), w) for w in v.split()], na_action="ignore")
        for choice in dict.fromkeys(choices.values()):
            column = f"{key}/{choice}"
            if column not in tidy:
                chosen = words.map(lambda parts, c=choice: "1" if c in parts else "0", na_action="ignore")
                tidy[column] = chosen.astype(object)
    tidy["_place"] = [f"{place}, dòng/row {i + 2}" for i in range(len(tidy))]
    return tidy.reset_index(drop=True)


def _repeat_of(form: Form, keys: set) -> str | None:
    """The one repeat whose rows the import reads, refusing what cannot be one table."""
    inside = {}
    for key in sorted(keys & set(form.questions)):
        question = form.questions[key]
        if len(question.repeats) > 1:
            raise CodebookError(
                f"Câu «{key}» nằm trong nhóm lặp lồng nhau ({' / '.join(question.repeats)}): d8 chưa đọc được",
                f"The question '{key}' sits in a nested repeat ({' / '.join(question.repeats)}), which d8 does not "
                "read: map it from a question outside it",
            )
        if question.repeat:
            inside.setdefault(question.repeat, []).append(key)
    if len(inside) > 1:
        listed = "; ".join(f"{r}: {', '.join(k[:3])}" for r, k in inside.items())
        raise CodebookError(
            f"Các biến được đọc từ hai nhóm lặp khác nhau ({listed}): mỗi dòng chỉ thuộc một nhóm",
            f"The variables are read from two different repeat groups ({listed}): a row belongs to one only",
        )
    return next(iter(inside), None)


def flatten(
    export: Export, form: Form, wanted: set[str], required: set[str] = frozenset()
) -> tuple[pd.DataFrame, list]:
    """One row per repeat row (or per submission without repeats), headed by question
    keys; ``wanted`` are the keys to keep, ``required`` those the export must have.
    Returns the table (``_place`` says where each row came from) and the problems found."""
    problems = []
    main_table, main_place = export.tables[None]
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
    repeat = _repeat_of(form, wanted)
    if repeat is not None:
        if repeat not in export.tables:
            advice_vi, advice_en = (
                (
                    "; tệp CSV của Kobo không có nhóm lặp: hãy xuất dạng XLSX",
                    "; Kobo's CSV export holds no repeat groups: export as XLSX",
                )
                if export.kind == "csv"
                else ("", "")
            )
            raise CodebookError(
                f"Tệp xuất không có bảng của nhóm lặp «{repeat}»{advice_vi}",
                f"The export has no table for the repeat group '{repeat}'{advice_en}",
            )
        child_table, child_place = export.tables[repeat]
        rivals = ", ".join(export.rivals.get(repeat, []))
        if rivals:
            raise CodebookError(
                f"{child_place}: trang này có thể là của nhiều nhóm lặp ({repeat}, {rivals})",
                f"{child_place}: the sheet could be that of several repeats ({repeat}, {rivals})",
            )
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
        shared = [c for c in child.columns if c in main and c not in (parent, "_place")]
        joined = main.rename(columns={"_place": "_main_place"}).merge(
            child.drop(columns=shared), how="left", left_on=key, right_on=parent
        )
        joined["_place"] = joined["_place"].fillna(joined.pop("_main_place"))
        main = joined
    missing = sorted(k for k in required if k not in main)
    if missing:
        raise CodebookError(
            f"Tệp xuất không có cột của câu {missing} mà sổ mã đọc",
            f"The export has no column for the questions {missing} that the codebook reads",
        )
    return main.reset_index(drop=True), problems


def review_states(flat: pd.DataFrame) -> pd.Series | None:
    """Each row's review: "rejected", "awaiting" (on hold, has issues, edited, not yet
    reviewed) or "approved", from Kobo's ``_validation_status`` or ODK Central's
    ``ReviewState``; None for an export without either."""
    column = next((c for c in REVIEW_COLUMNS if c in flat), None)
    if column is None:
        return None
    text = flat[column].fillna("").astype(str).map(normalise).str.replace("validation_status_", "", regex=False)
    text = text.str.replace("_", " ", regex=False)
    return pd.Series(
        np.select(
            [text.isin(["not approved", "rejected"]), text.isin(["approved"])], ["rejected", "approved"], "awaiting"
        ),
        index=flat.index,
    )

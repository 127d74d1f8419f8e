"""From a field export to a round of a d8 dataset, without code.

``draft_codebook(form)`` drafts the codebook of an XLSForm: each of d8's survey
variables from the question of the same name (in any group), or from the choice of
that name of a select_multiple question; choices mapped by name or label onto d8's
values; the questions that look personal listed as such. What it cannot map is
listed under ``todo``; a draft without ``todo`` is complete.

``import_round(...)`` reads a KoboToolbox or ODK Central export through such a
codebook, leaves out the submissions a reviewer rejected, checks the rest (codes,
ranges, types, duplicated submissions or respondents, weights, villages of the
register, answers the form's skip logic says were not asked, the round), and only
then writes ``<data>/survey/<round>-<year>.csv`` (d8's variables, nothing personal),
archives the export as received under ``<data>/survey/raw/<sha256><suffix>`` and
records the round and the import (``Imported.record``) in the dataset's codebook. A
rejected export changes nothing.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core.digests import sha256_file
from d8lib.core.skiplogic import Unsupported, holds
from d8lib.survey.io.codebook import (
    MAX_PROBLEMS,
    Codebook,
    CodebookError,
    Problem,
    convert,
    join_weights,
    load_codebook,
    normalise,
    variables,
)
from d8lib.survey.io.exports import SUBMISSION_IDS, flatten, read_export, review_states
from d8lib.survey.io.xlsform import Form, read_form
from d8lib.survey.outcomes import age_group_spec

PERSONAL = re.compile(
    r"(^|_)(ten|name|ho_ten|hoten|phone|dien_thoai|sdt|so_dt|cmnd|cccd|address|dia_chi)(_|$)|"
    r"họ tên|họ và tên|điện thoại|full name|phone number|identity card|căn cước",
    re.IGNORECASE,
)
YES = {"1", "yes", "có", "co", "true"}
NO = {"0", "no", "không", "khong", "false"}
ROUNDS = ("baseline", "midterm", "endline")


def _question_key(form: Form, column: str) -> str:
    """The question a codebook column is read from (``key/choice``: the select_multiple)."""
    return column if column in form.questions else column.rpartition("/")[0] or column


def _sources(entry: dict) -> list[str]:
    """The columns a codebook entry reads (several where it takes the first answer given)."""
    return entry["column"] if isinstance(entry["column"], list) else [entry["column"]]


def _question_for(form: Form, name: str) -> tuple[str | None, str | None]:
    """The column a d8 variable comes from: the question of its name (its key), or a
    select_multiple choice of its name."""
    same = [q for q in form.named(name) if not q.identifying]
    if len(same) == 1 and same[0].type != "select_multiple":
        return same[0].key, same[0].type
    for q in form.questions.values():
        if q.type == "select_multiple" and any(c["name"] == name for c in form.choices.get(q.list_name, [])):
            return f"{q.key}/{name}", "select_multiple_choice"
    return None, None


def _plain(text: str) -> str:
    """A name compared without case, accents or separators."""
    decomposed = unicodedata.normalize("NFD", normalise(text).replace("đ", "d"))
    return re.sub(r"[^a-z0-9]+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).strip()


def near_matches(form: Form, name: str, limit: int = 3) -> list[str]:
    """Questions that may be the variable: the same name but for case, accents or
    separators, or a label sharing the words of the variable's description."""
    wanted = _plain(name)
    words = set(_plain(variables()[name].get("en", "")).split()) - {"a", "the", "of", "in", "or", "by", "past"}
    scored = []
    for q in form.questions.values():
        if q.identifying or q.type in ("start", "end", "today"):
            continue
        if _plain(q.name) == wanted or any(_plain(label) == wanted for label in q.labels.values()):
            scored.append((0, q.key))
            continue
        shared = max((len(words & set(_plain(label).split())) for label in q.labels.values()), default=0)
        if words and shared >= max(2, len(words) // 2):
            scored.append((1 / shared, q.key))
    return [key for _, key in sorted(scored)[:limit]]


def _missing_question(form: Form, name: str) -> str:
    """The todo item of a variable without a question: what is missing, the one way to fix it."""
    spec = variables()[name]
    near = near_matches(form, name)
    hint_vi = f" (có thể là: {', '.join(near)})" if near else ""
    hint_en = f" (perhaps: {', '.join(near)})" if near else ""
    if name in ("weight", "stratum"):
        return (
            f"{name}: không có câu hỏi tên «{name}» trong biểu mẫu{hint_vi}; ghi «column:» của câu hỏi đó, "
            f"hoặc «weights:» (tệp trọng số theo thôn) / no question named '{name}' ({spec.get('en')}) in the "
            f"form{hint_en}: write its question under 'column:', or, where the form has none, a 'weights:' file"
        )
    if len(form.named(name)) > 1:
        keys = ", ".join(q.key for q in form.named(name))
        return (
            f"{name}: nhiều câu hỏi tên «{name}» ({keys}); ghi «column:» là một trong số đó / several questions "
            f"are named '{name}' ({keys}): write one of them under 'column:'"
        )
    return (
        f"{name}: không có câu hỏi tên «{name}» trong biểu mẫu{hint_vi}; ghi «column:» của câu hỏi đó / "
        f"no question named '{name}' ({spec.get('en')}) in the form{hint_en}: write its question under 'column:'"
    )


def personal_questions(form: Form, known: dict) -> list[str]:
    """Questions never read: every question of a type that can identify a person
    (location, photo, audio, signature, barcode, device, phone, e-mail, ...), and text
    questions whose name or label looks personal."""
    fallbacks = {v.get("fallback") for v in known.values()}
    return sorted(
        q.key
        for q in form.questions.values()
        if q.identifying
        or (
            q.name not in known
            and q.name not in fallbacks
            and (PERSONAL.search(q.name) or any(PERSONAL.search(label) for label in q.labels.values()))
        )
    )


def draft_codebook(form: Form) -> dict:
    """A codebook drafted from a form; ``todo`` lists what remains to be mapped."""
    known = variables()
    columns, todo = {}, []
    for name, spec in known.items():
        column, kind = _question_for(form, name)
        if column is None:
            if not spec.get("optional"):
                todo.append(_missing_question(form, name))
            continue
        entry = {"column": column}
        fallback = spec.get("fallback")
        fallback_column, _ = _question_for(form, fallback) if fallback else (None, None)
        sources = [column] + ([fallback_column] if fallback_column else [])
        if len(sources) > 1:
            entry["column"] = sources
        if spec["type"] in ("category", "binary") and kind == "select_one":
            mapping, unmapped = {}, []
            closed = {normalise(v): v for v in spec.get("values", [])}
            lists = [form.questions[q].list_name for q in sources]
            for choice in [c for list_name in dict.fromkeys(lists) for c in form.choices.get(list_name, [])]:
                keys = [choice["name"], *choice["labels"].values()]
                if spec["type"] == "binary":
                    value = (
                        1
                        if any(normalise(k) in YES for k in keys)
                        else 0
                        if any(normalise(k) in NO for k in keys)
                        else None
                    )
                elif closed:
                    value = next((closed[normalise(k)] for k in keys if normalise(k) in closed), None)
                else:  # an open list (ethnic groups): the choice's label as people write it
                    value = choice["labels"].get("default") or next(iter(choice["labels"].values()), choice["name"])
                if value is None:
                    unmapped.append(choice)
                    continue
                for k in keys:
                    mapping[k] = value
            entry["values"] = mapping
            for choice in unmapped:
                allowed = spec.get("values") or ([0, 1] if spec["type"] == "binary" else [])
                todo.append(
                    f"{name}: lựa chọn «{choice['name']}» ({', '.join(choice['labels'].values())}) chưa có "
                    f"giá trị của d8; thêm vào «values:» / choice '{choice['name']}' has no d8 value: add it under "
                    f"'values:' mapped to one of {allowed} (or null for missing)"
                )
        columns[name] = entry
    personal = personal_questions(form, known)
    columns = {k: v for k, v in columns.items() if not {_question_key(form, c) for c in _sources(v)} & set(personal)}
    return {"form": form.path.name, "personal": personal, "columns": columns, "todo": todo}


def write_draft(form_path: str | Path, out: str | Path, export: str | Path | None = None) -> dict:
    """Write the draft codebook of a form (and check it against an export's values)."""
    form = read_form(form_path)
    draft = draft_codebook(form)
    if export is not None:
        try:
            draft["todo"] += _unmapped_values(form, draft, Path(export))
        except CodebookError as exc:  # a draft too incomplete to read the export with
            draft["todo"].append(f"tệp xuất chưa kiểm tra được / the export could not be checked yet: {exc}")
    state = (
        "Đầy đủ, không cần sửa / Complete: nothing to map."
        if not draft["todo"]
        else "Còn phải khai báo các mục trong «todo» / Map what 'todo' lists."
    )
    header = f"# Sổ mã do d8 soạn từ biểu mẫu / Codebook drafted by d8 from the form {form.path.name}.\n# {state}\n"
    Path(out).write_text(header + yaml.safe_dump(draft, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return draft


def _unmapped_values(form: Form, draft: dict, export: Path) -> list[str]:
    """Values an export holds that the draft does not map."""
    codebook = _as_codebook(draft, export.parent)
    flat, _ = flatten(read_export(export, form), form, _wanted(codebook, form), _read(codebook))
    flat, reading = _coalesce(flat, codebook)
    _, problems = convert(flat, reading, export.name, places=flat["_place"])
    seen = dict.fromkeys((p.column, p.value, p.en) for p in problems)
    return [
        f"{column}: giá trị «{value}» chưa được khai báo; thêm vào «values:» / value '{value}' is not mapped "
        f"({reason}): add it under 'values:'"
        for column, value, reason in seen
    ]


def _as_codebook(spec: dict, folder: Path) -> Codebook:
    path = folder / "codebook.yaml"
    text = yaml.safe_dump({k: v for k, v in spec.items() if k != "todo"}, allow_unicode=True)
    return load_codebook(path, text=text)


def _read(codebook: Codebook) -> set[str]:
    """The columns the codebook reads from the export (not those of a weights file)."""
    external = set((codebook.weights or {}).get("variables", []))
    return {c for name, spec in codebook.columns.items() if name not in external for c in _sources(spec)}


def _wanted(codebook: Codebook, form: Form) -> set[str]:
    """Question keys an import reads: the codebook's columns and what their skip logic
    refers to, never a personal or identifying question."""
    columns = set()
    for column in _read(codebook):
        columns |= {column, _question_key(form, column)}
    for key in list(columns):
        question = form.questions.get(key)
        for _, names in question.relevant if question else ():
            columns |= {k for k in names.values() if k}
    never = set(codebook.personal) | {q.key for q in form.questions.values() if q.identifying}
    return columns - never


@dataclass
class SkipLogic:
    """What the form's skip logic found: answers given where it says the question was
    not asked, and the conditions d8 could not check, each with the reason."""

    problems: list = field(default_factory=list)
    not_checked: list = field(default_factory=list)  # "question: condition (reason)"


def check_skip_logic(flat: pd.DataFrame, form: Form, codebook: Codebook) -> SkipLogic:
    """Answers the form did not ask for: a question read by the codebook answered where
    a condition of its own or of an enclosing group is false."""
    found = SkipLogic()
    read = sorted({_question_key(form, c) for c in _read(codebook)} & set(form.questions))
    for key in read:
        question = form.questions[key]
        answered = _answered(flat, form, key)
        if answered is None or not question.relevant:
            continue
        asked = pd.Series(True, index=flat.index)
        for expression, names in question.relevant:
            try:
                asked &= holds(expression, flat, current=key, names=names)
            except Unsupported as reason:
                found.not_checked.append(f"{key}: {expression} ({reason.vi} / {reason.en})")
        wrong = ~asked & answered
        text = flat[key] if key in flat else pd.Series("", index=flat.index)
        found.problems += [
            Problem(
                p,
                None,
                key,
                str(v),
                f"có trả lời dù biểu mẫu không hỏi ({' and '.join(e for e, _ in question.relevant)})",
                f"answered although the form's skip logic says not asked ({' and '.join(e for e, _ in question.relevant)})",
            )
            for p, v in zip(flat._place[wrong], text[wrong].fillna(""))
        ][:MAX_PROBLEMS]
    return found


def _answered(flat: pd.DataFrame, form: Form, key: str) -> pd.Series | None:
    """Rows where a question holds an answer (for a select_multiple: any choice)."""
    if key in flat:
        return flat[key].notna() & (flat[key].astype(str).str.strip() != "")
    choices = [c for c in flat.columns if c.startswith(f"{key}/")]
    if not choices:
        return None
    return flat[choices].notna().any(axis=1)


def _coalesce(flat: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, Codebook]:
    """Variables read from several columns take the first answer given (a woman's own
    result, else her household's)."""
    columns = dict(codebook.columns)
    for name, spec in codebook.columns.items():
        if isinstance(spec["column"], list):
            present = [c for c in spec["column"] if c in flat]
            merged = f"{name}<-" + "|".join(spec["column"])
            flat[merged] = flat[present].bfill(axis=1).iloc[:, 0] if present else np.nan
            columns[name] = {**spec, "column": merged}
    return flat, replace(codebook, columns=columns)


def _checks(data: pd.DataFrame, flat: pd.DataFrame, round_name: str, data_dir: Path) -> list[Problem]:
    problems = []
    ids = data.respondent_id
    duplicated = ids.notna() & ids.duplicated(keep="first")
    problems += [
        Problem(p, None, "respondent_id", str(v), "mã người trả lời bị trùng", "duplicated respondent")
        for p, v in zip(flat._place[duplicated], ids[duplicated])
    ]
    register_path = data_dir / "villages.csv"
    if not register_path.is_file():
        raise CodebookError(
            f"Thư mục dữ liệu {data_dir} không có danh sách thôn villages.csv",
            f"The data folder {data_dir} has no village register villages.csv",
        )
    register = pd.read_csv(register_path, dtype=str, keep_default_na=False, usecols=["village"]).village
    unknown = data.village.notna() & ~data.village.isin(register)
    problems += [
        Problem(p, None, "village", str(v), "thôn không có trong danh sách thôn", "village not in the village register")
        for p, v in zip(flat._place[unknown], data.village[unknown])
    ]
    if "round" in data:
        wrong = data["round"].notna() & (data["round"] != round_name)
        problems += [
            Problem(p, None, "round", str(v), f"không phải vòng {round_name}", f"not round {round_name}")
            for p, v in zip(flat._place[wrong], data["round"][wrong])
        ]
    if "weight" in data:
        missing = data.weight.isna()
        problems += [Problem(p, None, "weight", "", "thiếu trọng số", "no weight") for p in flat._place[missing]]
    return problems[: 5 * MAX_PROBLEMS]


@dataclass
class Imported:
    """What an import wrote and left out."""

    path: Path
    rows: int
    left_out: dict  # review ("rejected", "awaiting") -> identifiers of the submissions left out
    awaiting: list  # identifiers of the submissions imported while still awaiting review
    reviewed: bool  # whether the export carries a review status at all
    not_checked: list  # skip-logic conditions d8 could not check, with the reason

    def record(self) -> dict:
        """The import's record in the dataset's codebook."""
        return {
            "rows": self.rows,
            "review": {"left_out": self.left_out, "awaiting_review": len(self.awaiting)}
            if self.reviewed
            else "the export carries no review status",
            "skip_logic_not_checked": self.not_checked,
        }


def _leave_out(flat: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, dict, list, bool]:
    """The rows kept after the reviewers' verdicts, the submissions left out by verdict,
    those kept while awaiting review, and whether the export has verdicts at all."""
    states = review_states(flat)
    if states is None:
        return flat, {}, [], False
    ids = next((c for c in SUBMISSION_IDS if c in flat), None)
    names = flat[ids].fillna("").astype(str) if ids else flat["_place"]
    left_out = {state: sorted(set(names[states == state])) for state in codebook.leave_out if (states == state).any()}
    awaiting = sorted(set(names[states == "awaiting"])) if "awaiting" not in codebook.leave_out else []
    kept = flat[~states.isin(codebook.leave_out)].reset_index(drop=True)
    return kept, left_out, awaiting, True


def import_round(
    form_path: str | Path,
    export_path: str | Path,
    round_name: str,
    data_dir: str | Path,
    codebook_path: str | Path | None = None,
    year: int | None = None,
) -> Imported:
    """Make a field export round ``round_name`` of the dataset in ``data_dir``; returns
    what was written and left out. Raises ``CodebookError`` naming every problem,
    changing nothing."""
    if round_name not in ROUNDS:
        raise CodebookError(
            f"Vòng phải là một trong {ROUNDS}: «{round_name}»", f"The round must be one of {ROUNDS}: '{round_name}'"
        )
    data_dir, export_path = Path(data_dir), Path(export_path)
    form = read_form(form_path)
    if codebook_path:
        codebook = load_codebook(codebook_path)
        todo = (yaml.safe_load(Path(codebook_path).read_text(encoding="utf-8")) or {}).get("todo")
    else:
        draft = draft_codebook(form)
        todo, codebook = draft["todo"], _as_codebook(draft, Path(form_path).parent)
    if todo:
        raise CodebookError("Sổ mã còn mục chưa khai báo", "The codebook still lists what to map:\n" + "\n".join(todo))
    dataset = data_dir / "survey" / "codebook.yaml"
    existing = yaml.safe_load(dataset.read_text(encoding="utf-8")) if dataset.exists() else None
    year = year or ((existing or {}).get("rounds", {}).get(round_name, {}).get("year"))
    if not year:
        raise CodebookError(
            f"Chưa biết năm của vòng {round_name}: thêm --year",
            f"The year of round {round_name} is unknown: pass --year",
        )
    flat, problems = flatten(read_export(export_path, form), form, _wanted(codebook, form), _read(codebook))
    flat, left_out, awaiting, reviewed = _leave_out(flat, codebook)
    if flat.empty:
        raise CodebookError(
            "Không còn phiếu nào sau khi bỏ các phiếu bị từ chối",
            "No submission is left once the rejected are left out",
        )
    skip = check_skip_logic(flat, form, codebook)
    flat, reading = _coalesce(flat, codebook)
    data, found = convert(flat, reading, export_path.name, places=flat["_place"])
    problems += found
    if codebook.weights:
        data, found = join_weights(data, codebook)
        problems += found
    problems += skip.problems + _checks(data, flat, round_name, data_dir)
    if problems:
        shown = "\n".join(map(str, problems[:MAX_PROBLEMS]))
        raise CodebookError(
            f"{len(problems)} lỗi, chưa nhập gì", f"{len(problems)} problems, nothing imported:\n{shown}"
        )
    imported = Imported(Path(), len(data), left_out, awaiting, reviewed, skip.not_checked)
    imported.path = _write(data, codebook, existing, dataset, round_name, int(year), export_path, imported.record())
    return imported


def _dataset_codebook(
    existing: dict | None, data: pd.DataFrame, codebook: Codebook, round_name: str, year: int, file: str, record: dict
) -> dict:
    """The dataset's codebook with this round: d8's names read as they are."""
    if existing and any(
        spec.get("column", name) != name for name, spec in existing.get("columns", {}).items() if isinstance(spec, dict)
    ):
        raise CodebookError(
            "Sổ mã của bộ dữ liệu đọc các tệp khác tên cột của d8: hãy nhập vào một thư mục dữ liệu mới",
            "The dataset's codebook reads files with other column names: import into a new data folder",
        )
    spec = existing or {"rounds": {}, "personal": [], "columns": {}, "derived": {"age_group": age_group_spec()}}
    spec["rounds"][round_name] = {"year": year, "files": [file], "import": record}
    spec["personal"] = sorted(set(spec.get("personal") or []) | set(codebook.personal))
    for name, entry in spec["columns"].items():
        if name not in data and isinstance(entry, dict) and not variables()[name].get("required"):
            entry["optional"] = True  # earlier rounds have it, this one does not
    for name in data.columns:
        if name not in variables():
            continue
        entry = dict(spec["columns"].get(name) or {"column": name})
        if name in ("district", "commune", "commune_2025"):
            entry["optional"] = True
        if variables()[name]["type"] == "category" and "values" not in variables()[name]:
            seen = [v for v in data[name].dropna().unique()]
            entry["values"] = list(dict.fromkeys(list(entry.get("values") or []) + sorted(seen)))
        spec["columns"][name] = entry
    return spec


def _write(
    data: pd.DataFrame,
    codebook: Codebook,
    existing: dict | None,
    dataset: Path,
    round_name: str,
    year: int,
    export: Path,
    record: dict,
) -> Path:
    """Write the round, the archive copy and the codebook, each in one step; nothing
    is left half-written."""
    folder = dataset.parent
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{round_name}-{year}.csv"
    columns = [c for c in variables() if c in data]
    spec = _dataset_codebook(existing, data, codebook, round_name, year, target.name, record)
    digest = sha256_file(export)
    archived = folder / "raw" / f"{digest}{export.suffix.lower()}"
    writes = [
        (target, lambda p: data[columns].to_csv(p, index=False, lineterminator="\n")),
        (dataset, lambda p: p.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")),
    ]
    if not archived.exists():
        archived.parent.mkdir(exist_ok=True)
        writes.insert(0, (archived, lambda p: p.write_bytes(export.read_bytes())))
    partials = [final.with_name(final.name + ".partial") for final, _ in writes]  # names readers never open
    try:
        for (_, write), partial in zip(writes, partials):
            write(partial)
    except BaseException:  # a full disk: nothing is left behind, the dataset is as it was
        for partial in partials:
            partial.unlink(missing_ok=True)
        raise
    for (final, _), partial in zip(writes, partials):
        os.replace(partial, final)
    return target

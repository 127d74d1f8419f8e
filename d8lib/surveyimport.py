"""From a field export to a round of a d8 dataset, without code.

``draft_codebook(form)`` drafts the codebook of an XLSForm: each of d8's survey
variables from the question of the same name (in any group), or from the choice of
that name of a select_multiple question; choices mapped by name or label onto d8's
values; the questions that look personal listed as such. What it cannot map is
listed under ``todo``; a draft without ``todo`` is complete.

``import_round(...)`` reads a KoboToolbox or ODK Central export through such a
codebook, checks it (codes, ranges, types, duplicated submissions or respondents,
weights, villages of the register, answers the form's skip logic says were not
asked, the round), and only then writes ``<data>/survey/<round>-<year>.csv`` (d8's
variables, nothing personal), archives the export as received under
``<data>/survey/raw/<sha256><suffix>`` and records the round in the dataset's
codebook. A rejected export changes nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.codebook import (
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
from d8lib.exports import flatten, read_export
from d8lib.outcomes import age_group_spec
from d8lib.store import sha256_file
from d8lib.xlsform import Form, read_form, relevant_expression

PERSONAL = re.compile(
    r"(^|_)(ten|name|ho_ten|hoten|phone|dien_thoai|sdt|so_dt|cmnd|cccd|address|dia_chi)(_|$)|"
    r"họ tên|họ và tên|điện thoại|full name|phone number|identity card|căn cước",
    re.IGNORECASE,
)
YES = {"1", "yes", "có", "co", "true"}
NO = {"0", "no", "không", "khong", "false"}
ROUNDS = ("baseline", "midterm", "endline")


def _sources(entry: dict) -> list[str]:
    """The columns a codebook entry reads (several where it takes the first answer given)."""
    return entry["column"] if isinstance(entry["column"], list) else [entry["column"]]


def _question_for(form: Form, name: str) -> tuple[str | None, str | None]:
    """The column a d8 variable comes from: a question of its name, or a select_multiple choice of its name."""
    if name in form.questions and form.questions[name].type not in ("select_multiple",):
        return name, form.questions[name].type
    for q in form.questions.values():
        if q.type == "select_multiple" and any(c["name"] == name for c in form.choices.get(q.list_name, [])):
            return f"{q.name}/{name}", "select_multiple_choice"
    return None, None


def draft_codebook(form: Form) -> dict:
    """A codebook drafted from a form; ``todo`` lists what remains to be mapped."""
    known = variables()
    columns, todo = {}, []
    for name, spec in known.items():
        column, kind = _question_for(form, name)
        if column is None:
            if not spec.get("optional"):
                todo.append(
                    f"{name}: không có câu hỏi tên «{name}» trong biểu mẫu; ghi cột nguồn hoặc tệp trọng số / "
                    f"no question named '{name}' in the form: give its column, or a weights file"
                )
            continue
        entry = {"column": column}
        fallback = spec.get("fallback")
        sources = [column] + ([fallback] if fallback in form.questions else [])
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
                todo.append(
                    f"{name}: lựa chọn «{choice['name']}» ({', '.join(choice['labels'].values())}) chưa có "
                    f"giá trị của d8 / choice '{choice['name']}' has no d8 value"
                )
        columns[name] = entry
    fallbacks = {v.get("fallback") for v in known.values()}
    personal = sorted(
        q.name
        for q in form.questions.values()
        if q.name not in known
        and q.name not in fallbacks
        and (PERSONAL.search(q.name) or any(PERSONAL.search(label) for label in q.labels.values()))
    )
    columns = {k: v for k, v in columns.items() if not {c.split("/")[0] for c in _sources(v)} & set(personal)}
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
    flat, _ = flatten(read_export(export, form), form, _wanted(codebook, form))
    flat, reading = _coalesce(flat, codebook)
    _, problems = convert(flat, reading, export.name, places=flat["_place"])
    seen = dict.fromkeys((p.column, p.value, p.en) for p in problems)
    return [
        f"{column}: giá trị «{value}» chưa được khai báo / value '{value}' is not mapped ({reason})"
        for column, value, reason in seen
    ]


def _as_codebook(spec: dict, folder: Path) -> Codebook:
    path = folder / "codebook.yaml"
    text = yaml.safe_dump({k: v for k, v in spec.items() if k != "todo"}, allow_unicode=True)
    return load_codebook(path, text=text)


def _wanted(codebook: Codebook, form: Form) -> set[str]:
    """Question names an import reads: the codebook's columns and what their skip logic
    refers to, never a personal column."""
    columns = set()
    for spec in codebook.columns.values():
        for column in _sources(spec):
            columns |= {column, column.split("/")[0]}
    for name in list(columns):
        question = form.questions.get(name)
        if question is not None and question.relevant:
            columns |= set(re.findall(r"\$\{(\w+)\}", question.relevant))
    return columns - set(codebook.personal)


def _skip_problems(flat: pd.DataFrame, form: Form, codebook: Codebook) -> list[Problem]:
    """Answers given where the form's ``relevant`` says the question was not asked."""
    numeric = flat.apply(
        lambda c: (
            pd.to_numeric(c, errors="coerce")
            if c.name != "_place" and pd.to_numeric(c.dropna(), errors="coerce").notna().all()
            else c
        )
    )
    problems = []
    mapped = {spec["column"] for spec in codebook.columns.values() if isinstance(spec["column"], str)}
    for name in sorted(mapped & set(flat.columns)):
        question = form.questions.get(name)
        expression = relevant_expression(question.relevant) if question else None
        if expression is None:
            continue
        try:
            asked = numeric.eval(expression, engine="python").fillna(False).astype(bool)
        except (SyntaxError, NameError, KeyError, TypeError, ValueError):  # refers to what the export lacks
            continue
        wrong = ~asked & flat[name].notna()
        problems += [
            Problem(
                p,
                None,
                name,
                str(v),
                f"có trả lời dù biểu mẫu không hỏi ({question.relevant})",
                f"answered although the form's skip logic says not asked ({question.relevant})",
            )
            for p, v in zip(flat._place[wrong], flat[name][wrong])
        ][:MAX_PROBLEMS]
    return problems


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
    return flat, Codebook(
        codebook.path, codebook.rounds, columns, codebook.derived, codebook.personal, codebook.weights
    )


def _checks(data: pd.DataFrame, flat: pd.DataFrame, round_name: str, data_dir: Path) -> list[Problem]:
    problems = []
    ids = data.respondent_id
    duplicated = ids.notna() & ids.duplicated(keep="first")
    problems += [
        Problem(p, None, "respondent_id", str(v), "mã người trả lời bị trùng", "duplicated respondent")
        for p, v in zip(flat._place[duplicated], ids[duplicated])
    ]
    register = pd.read_csv(data_dir / "villages.csv", dtype=str, usecols=["village"]).village
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


def _partial(target: Path, write) -> Path:
    """Write ``target``'s content beside it, under a name readers never open."""
    partial = target.with_name(target.name + ".partial")
    write(partial)
    return partial


def import_round(
    form_path: str | Path,
    export_path: str | Path,
    round_name: str,
    data_dir: str | Path,
    codebook_path: str | Path | None = None,
    year: int | None = None,
) -> Path:
    """Make a field export round ``round_name`` of the dataset in ``data_dir``; returns the
    file written. Raises ``CodebookError`` naming every problem, changing nothing."""
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
    flat, problems = flatten(read_export(export_path, form), form, _wanted(codebook, form))
    flat, reading = _coalesce(flat, codebook)
    data, found = convert(flat, reading, export_path.name, places=flat["_place"])
    problems += found
    if codebook.weights:
        data, found = join_weights(data, codebook)
        problems += found
    problems += _skip_problems(flat, form, codebook) + _checks(data, flat, round_name, data_dir)
    if problems:
        shown = "\n".join(map(str, problems[:MAX_PROBLEMS]))
        raise CodebookError(
            f"{len(problems)} lỗi, chưa nhập gì", f"{len(problems)} problems, nothing imported:\n{shown}"
        )
    return _write(data, codebook, existing, dataset, round_name, int(year), export_path)


def _dataset_codebook(
    existing: dict | None, data: pd.DataFrame, codebook: Codebook, round_name: str, year: int, file: str
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
    spec["rounds"][round_name] = {"year": year, "files": [file]}
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
) -> Path:
    """Write the round, the archive copy and the codebook, each in one step; nothing
    is left half-written."""
    folder = dataset.parent
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{round_name}-{year}.csv"
    columns = [c for c in variables() if c in data]
    spec = _dataset_codebook(existing, data, codebook, round_name, year, target.name)
    digest = sha256_file(export)
    archived = folder / "raw" / f"{digest}{export.suffix.lower()}"
    partials = [
        (_partial(target, lambda p: data[columns].to_csv(p, index=False, lineterminator="\n")), target),
        (
            _partial(
                dataset,
                lambda p: p.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8"),
            ),
            dataset,
        ),
    ]
    if not archived.exists():
        archived.parent.mkdir(exist_ok=True)
        partials.insert(0, (_partial(archived, lambda p: p.write_bytes(export.read_bytes())), archived))
    for partial, final in partials:
        os.replace(partial, final)
    return target

"""The ``d8`` command."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from d8lib.core.labels import LANGUAGES
from d8lib.core.paths import DATA_DIR, NOTEBOOKS_DIR, phase_names, survey_rounds
from d8lib.core.text import printable

if TYPE_CHECKING:
    from d8lib.plan.model import Plan

DEFAULT_STORE = DATA_DIR / "store"
# Commands that other installed packages add (entry points of this group): `d8 synth`.
COMMANDS = "d8lib.commands"


def _plan_check(args: argparse.Namespace) -> int:
    from d8lib.plan import model as plan_module

    try:
        plan = plan_module.load_plan(args.file)
    except plan_module.PlanError as exc:
        print(exc, file=sys.stderr)
        return 1
    findings = plan.check()
    print(f"Kế hoạch / Plan {plan.meta['number']} ({plan.path.name}): {len(plan.targets)} dòng chỉ tiêu / target rows")
    labels = {"error": "LỖI / ERROR", "warning": "CẢNH BÁO / WARNING"}
    for f in findings:
        print(f"\n[{labels[f.severity]}] {f.message}\n    {f.message_en}\n    Nguồn / Source: {f.source}")
        if f.hint:
            print(f"    Tệp kế hoạch / Plan file: {f.hint}")
    errors = sum(f.severity == "error" for f in findings)
    print(f"\n{errors} lỗi / errors, {len(findings) - errors} cảnh báo / warnings")
    print("\nCác lệnh dùng được kế hoạch / What each command can do with the plan:")
    for command, lacks in plan.readiness():
        if not lacks:
            print(f"  {command}: sẵn sàng / ready")
        for vi, en in lacks:
            print(f"  {command}: thiếu {vi} / lacks {en}")
    return 1 if errors else 0


def _plan_new(args: argparse.Namespace) -> int:
    from d8lib.core import atomic
    from d8lib.plan import draft as newplan

    plan_file, units_dir = args.out / newplan.PLAN_FILE, args.out / newplan.UNITS_FOLDER
    try:
        if not plan_file.exists():
            tables = newplan.province_tables(args.province_code, before_reform=args.before_reform)
            newplan.write_tables(tables, units_dir)
            atomic.write_text(plan_file, newplan.draft(tables))
            vi, en = tables.summary()
            print(f"Đã soạn / Drafted: {plan_file}\n  {vi}\n  {en}")
        else:
            print(f"Kế hoạch đã có, không ghi đè / Plan exists, not overwritten: {plan_file}")
        left = newplan.todo(plan_file) + newplan.gaps(units_dir)
    except (newplan.NewPlanError, OSError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_REJECTED
    for vi, en in left:
        print(f"    CÒN PHẢI ĐIỀN / TO FILL: {vi}" + ("" if vi == en else f" / {en}"))
    print(
        f"{len(left)} mục còn lại / items left"
        + ("; tiếp theo / next: d8 plan check " + str(plan_file) if not left else "")
    )
    return EXIT_REJECTED if left else 0


def _template(args: argparse.Namespace) -> int:
    from d8lib.intake.forms import write_template
    from d8lib.units.registry import UnitError

    plan = args.plan
    try:
        if args.province:
            unit = plan.province
        elif args.commune_2025:
            known = set(plan.reporting_units().unit)
            unit = (
                args.commune_2025
                if args.commune_2025 in known
                else plan.units().resolve(args.commune_2025, "commune_2025")
            )
        elif args.district in set(plan.districts.unit):
            unit = args.district
        else:
            unit = plan.units().resolve(args.district, "district")
        path = write_template(plan, unit, args.period, args.out or Path(f"bao-cao-du-an-8-{unit}-{args.period}.xlsx"))
    except (UnitError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Đã tạo biểu mẫu / Form written: {path}")
    return 0


# Exit statuses, the same for every command (README, "What an operator reads").
EXIT_REJECTED, EXIT_USAGE, EXIT_LOCKED, EXIT_D8_FAILED = 1, 2, 3, 4
SHOWN_PROBLEMS = 50  # problems listed per file; the rest are counted


def _intake(args: argparse.Namespace) -> int:
    from d8lib.intake.store import Store
    from d8lib.intake.submissions import intake

    issued = args.plan.meta.get("date")
    earliest = issued if isinstance(issued, dt.date) else dt.date(2000, 1, 1)
    if args.sent and not earliest <= args.sent <= dt.date.today():
        print(
            f"d8 intake: --sent phải từ ngày ban hành kế hoạch {earliest:%d/%m/%Y} đến hôm nay / "
            f"--sent must lie between the plan's date ({earliest:%d/%m/%Y}) and today: {args.sent:%d/%m/%Y}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    results = intake(args.files, Store(args.store), args.plan, args.plan.units(), sent_on=args.sent)
    labels = {
        "accepted": "ĐÃ NHẬN / ACCEPTED",
        "rejected": "TỪ CHỐI / REJECTED",
        "unchanged": "ĐÃ CÓ, KHÔNG ĐỔI / ALREADY RECEIVED, NOTHING CHANGED",
    }
    for result in results:
        print(f"{labels[result.status]}: {printable(result.path)}")
        for problem in result.problems[:SHOWN_PROBLEMS]:
            print(f"    {printable(problem)}")
        if len(result.problems) > SHOWN_PROBLEMS:
            more = len(result.problems) - SHOWN_PROBLEMS
            print(f"    ... và {more} vấn đề khác / and {more} more problems")
    rejected = sum(r.status == "rejected" for r in results)
    print(f"{len(results) - rejected} tệp được nhận / files accepted, {rejected} bị từ chối / rejected")
    if any(r.d8_failed for r in results):
        return EXIT_D8_FAILED
    return EXIT_REJECTED if rejected else 0


def _store_rebuild(args: argparse.Namespace) -> int:
    from d8lib.intake.store import StoreError
    from d8lib.intake.submissions import rebuild

    try:
        kept, results = rebuild(args.store, args.plan, args.plan.units())
    except StoreError as exc:
        print(f"d8 store rebuild: {exc}", file=sys.stderr)
        return EXIT_D8_FAILED
    rejected = [r for r in results if r.status == "rejected"]
    for result in rejected:
        print(f"TỪ CHỐI / REJECTED: {printable(result.path)}")
        for problem in result.problems[:SHOWN_PROBLEMS]:
            print(f"    {printable(problem)}")
    print(
        f"Đã dựng lại kho / Store rebuilt: {len(results) - len(rejected)} tệp / files, "
        f"{len(rejected)} bị từ chối / rejected; kho cũ giữ ở / the damaged store is kept as {kept}"
    )
    return EXIT_REJECTED if rejected else 0


def _national_run(args: argparse.Namespace) -> int:
    from d8lib.core.errors import InputError
    from d8lib.ops.national import national_run
    from d8lib.ops.runner import RunInterrupted, RunLocked

    try:
        result = national_run(
            args.phase,
            data_dir=args.data,
            out_dir=args.out,
            provinces=args.provinces,
            units=args.units,
            scheduler=args.scheduler,
            workers=args.workers,
            lang=args.lang,
            force=args.force,
            progress=sys.stderr.isatty(),
            notebooks=args.notebooks,
        )
    except InputError as exc:
        print(f"d8 national run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunLocked as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOCKED
    except RunInterrupted as exc:
        print(f"{exc}; chưa công bố gì / nothing was published", file=sys.stderr)
        return 1
    for province, built in result.provinces.items():
        if built.get("error"):
            print(f"LỖI/FAILED {province}: {built['error'].splitlines()[0]}")
    executed = sum(r.get("execution") == "executed" for r in result.reports)
    failed = [r for r in result.reports if r["status"] != "ok"]
    for r in failed:
        print(
            f"LỖI/FAILED {r['province']} {r['name']}: {(r.get('error') or '').splitlines()[0] if r.get('error') else ''}"
        )
    print(
        f"{len(result.reports) - len(failed)} báo cáo xong / reports done ({executed} chạy mới / executed), "
        f"{len(failed)} lỗi / failed"
    )
    print(f"Mục lục / Index: {result.run_dir / 'index.html'}")
    if result.published:
        print(f"Đã công bố / Published: {Path(args.out).resolve() / 'latest' / 'index.html'}")
        return 0
    print("Chưa công bố: bản trước vẫn giữ nguyên / Not published: the previous run stays published")
    return 1


def _run(args: argparse.Namespace) -> int:
    from d8lib.core.errors import InputError
    from d8lib.intake.store import StoreError
    from d8lib.ops.runner import RunInterrupted, RunLocked, run

    try:
        result = run(
            args.phase or "",
            units=args.units,
            jobs=args.jobs,
            lang=args.lang,
            data_dir=args.data,
            plan_path=args.plan.path,
            out_dir=args.out,
            notebooks=args.notebooks,
            as_of=args.as_of,
            review=args.review or "",
            force=args.force,
            pdf=args.pdf,
        )
    except InputError as exc:
        print(f"d8 run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunLocked as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOCKED
    except StoreError as exc:
        print(f"d8 run: {exc}", file=sys.stderr)
        return EXIT_D8_FAILED
    except RunInterrupted as exc:
        print(
            f"{exc}; chưa công bố gì, bản trước vẫn giữ nguyên / nothing was published, the previous run stays "
            f"published",
            file=sys.stderr,
        )
        return 1
    for outcome in result.outcomes:
        mark = {"ok": "OK ", "empty": "–  "}.get(outcome.status, "LỖI/FAILED")
        how = " dùng lại / reused" if outcome.execution == "reused" else f" {outcome.seconds:.1f} s"
        print(f"{mark} {outcome.name} ({how.strip()}){': ' + outcome.error.splitlines()[0] if outcome.error else ''}")
    count = {status: sum(o.status == status for o in result.outcomes) for status in ("ok", "empty", "failed")}
    print(
        f"{count['ok']} báo cáo xong / reports done, {count['empty']} đơn vị chưa có gì để báo cáo / units with "
        f"nothing to report, {count['failed']} lỗi / failed"
    )
    if result.error:
        print(f"Không tính được các bảng / The tables could not be built: {printable(result.error)}")
    print(f"Mục lục / Index: {result.run_dir / 'index.html'}")
    if result.published:
        print(f"Đã công bố / Published: {Path(args.out) / 'latest' / 'index.html'}")
    else:
        print("Chưa công bố: bản trước vẫn giữ nguyên / Not published: the previous run stays published")
    return 0 if result.ok else 1


def _unexpected(path: Path, exc: Exception) -> int:
    """A file d8 could not read for a reason it does not name itself: said, not a traceback."""
    print(
        f"TỪ CHỐI / REJECTED: {printable(path)}\nd8 không đọc được tệp này ({type(exc).__name__}: "
        f"{printable(str(exc))[:300]}) / d8 could not read this file ({type(exc).__name__}: {printable(str(exc))[:300]})",
        file=sys.stderr,
    )
    return 1


def _survey_codebook(args: argparse.Namespace) -> int:
    from d8lib.survey.io.codebook import CodebookError
    from d8lib.survey.io.importer import write_draft

    try:
        draft = write_draft(args.form, args.out, args.export)
    except CodebookError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, MemoryError) as exc:
        return _unexpected(args.form, exc)
    print(f"Đã soạn sổ mã / Codebook drafted: {args.out}")
    for item in draft["todo"]:
        print(f"    CÒN PHẢI KHAI BÁO / TO MAP: {item}")
    print(
        f"{len(draft['columns'])} biến đã khai báo / variables mapped, {len(draft['todo'])} mục còn lại / left to map"
        f"; {len(draft['personal'])} câu hỏi cá nhân không đọc / personal questions never read"
    )
    return 1 if draft["todo"] else 0


def _survey_import(args: argparse.Namespace) -> int:
    from d8lib.survey.io.codebook import CodebookError
    from d8lib.survey.io.importer import import_round

    try:
        imported = import_round(args.form, args.export, args.round, args.data, args.codebook, args.year)
    except CodebookError as exc:
        print(f"TỪ CHỐI / REJECTED: {printable(args.export)}\n{exc}", file=sys.stderr)
        return 1
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, MemoryError) as exc:
        return _unexpected(args.export, exc)
    print(f"ĐÃ NHẬP / IMPORTED: {printable(args.export)} -> {printable(imported.path)}")
    print(f"    {imported.rows} dòng / rows")
    if not imported.reviewed:
        print("    Tệp xuất không có trạng thái duyệt / The export carries no review status")
    for state, ids in imported.left_out.items():
        word = {"rejected": ("bị từ chối", "rejected"), "awaiting": ("chờ duyệt", "awaiting review")}[state]
        print(f"    BỎ RA / LEFT OUT: {len(ids)} phiếu {word[0]} / {word[1]} submissions: {', '.join(ids[:20])}")
    if imported.awaiting:
        print(
            f"    CHỜ DUYỆT / AWAITING REVIEW: {len(imported.awaiting)} phiếu đã nhập nhưng chưa được duyệt / "
            "submissions imported but not yet reviewed"
        )
    for item in imported.not_checked:
        print(f"    KHÔNG KIỂM TRA ĐƯỢC / NOT CHECKED (skip logic): {printable(item)}")
    return 0


def _survey_release(args: argparse.Namespace) -> int:
    from d8lib.reports.evaluate import has_survey
    from d8lib.reports.release import survey_release, write_release
    from d8lib.survey.design import DesignError
    from d8lib.survey.weighting import CalibrationError

    if not has_survey(args.data):
        print(
            f"d8 survey release: thư mục {printable(args.data)} không có số liệu khảo sát (villages.csv) / "
            f"the folder {printable(args.data)} holds no survey data (villages.csv)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        table, settings = survey_release(args.data, args.phase, args.plan, args.method, args.replicates, args.seed)
    except (DesignError, CalibrationError, ValueError, KeyError) as exc:
        print(f"d8 survey release: {printable(str(exc))}", file=sys.stderr)
        return EXIT_REJECTED
    path = write_release(table, settings, args.out)
    replicates = len(settings["rscales"])
    print(f"Đã ghi / Written: {printable(path)} ({len(table)} dòng / rows, {replicates} bản lặp / replicates)")
    print(f"    Cách đọc / How to read it ({settings['method']}): {printable(path.with_suffix('.yaml'))}")
    return 0


def _date(text: str) -> dt.date:
    """A command-line date, YYYY-MM-DD; anything else is a usage error (exit 2)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"ngày phải có dạng YYYY-MM-DD / a date must be YYYY-MM-DD: {text!r}"
        ) from None


def positive_argument(text: str) -> int:
    """A command-line count of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"phải là số nguyên từ 1 / must be a whole number from 1: {text!r}")
    return value


def _year(text: str) -> int:
    """A survey round's year: 2000-2100."""
    if not re.fullmatch(r"\d{4}", text) or not 2000 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"năm phải từ 2000 đến 2100 / a year from 2000 to 2100: {text!r}")
    return int(text)


def _file(text: str) -> Path:
    """A file named on the command line, which must exist."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"không có tệp / no such file: {printable(text)}")
    return Path(text)


def _store_folder(text: str) -> Path:
    """A store folder: absent (created on the first accepted file) or a folder."""
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"không phải thư mục / not a folder: {printable(text)}")
    return Path(text)


def _review(text: str) -> str:
    """A progress review: a year, one of the plan's reviews or rounds of a year (YYYY-06,
    YYYY-q1), or adhoc."""
    if not re.fullmatch(r"\d{4}(-[A-Za-z0-9]+)?|adhoc", text):
        raise argparse.ArgumentTypeError(
            f"phải là YYYY, YYYY-<đợt> hoặc adhoc / must be YYYY, YYYY-<review or round> or adhoc: {text!r}"
        )
    return text


def plan_argument(text: str) -> Plan:
    """A plan file read and checked for shape (an empty text: the default plan)."""
    from d8lib.plan import model as plan_module

    if text and not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"không có tệp / no such file: {text}")
    try:
        return plan_module.load_plan(text or None)
    except plan_module.PlanError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="d8", description="Project 8 monitoring and evaluation workbench")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in metadata.entry_points(group=COMMANDS):  # d8 synth, from the demo package
        command.load()(commands)

    plan_parser = commands.add_parser("plan", help="the plan as data")
    plan_commands = plan_parser.add_subparsers(dest="plan_command", required=True)
    check = plan_commands.add_parser("check", help="check a plan file's consistency")
    check.add_argument("file", nargs="?", default=None, help="plan YAML (default: the plan of data/config.yaml)")
    check.set_defaults(func=_plan_check)
    new = plan_commands.add_parser(
        "new", help="a province's unit tables and a draft plan; exit 1 while the draft has something to fill"
    )
    new.add_argument("--province-code", required=True, help="GSO code of the province (today's, or a former one)")
    new.add_argument("--out", type=Path, required=True, help="folder for plan.yaml and units/")
    new.add_argument(
        "--before-reform", action="store_true", help="the province as it was before 1/7/2025 (its districts report)"
    )
    new.set_defaults(func=_plan_new)

    template = commands.add_parser(
        "template", help="write the Excel report form of a district, commune or the province"
    )
    who = template.add_mutually_exclusive_group(required=True)
    who.add_argument("--district", help="GSO code or name of the district")
    who.add_argument("--province", action="store_true", help="the province's own form (what it does itself)")
    who.add_argument("--commune-2025", help="GSO code or name of a new commune (rounds after the 2025 reform)")
    template.add_argument("--period", required=True, help="reporting round as the plan names it: YYYY or YYYY-final")
    template.add_argument("--out", type=Path, default=None)
    template.add_argument("--plan", type=plan_argument, default="")
    template.set_defaults(func=_template)

    intake = commands.add_parser("intake", help="validate and store district submissions")
    intake.add_argument("files", nargs="+", type=_file)
    intake.add_argument(
        "--store", type=_store_folder, default=DEFAULT_STORE, help=f"store folder (default: {DEFAULT_STORE})"
    )
    intake.add_argument(
        "--sent", type=_date, default=None, help="date the files were sent (YYYY-MM-DD), where a file does not say"
    )
    intake.add_argument("--plan", type=plan_argument, default="")
    intake.set_defaults(func=_intake)

    store = commands.add_parser("store", help="the store of accepted submissions")
    store_commands = store.add_subparsers(dest="store_command", required=True)
    rebuild = store_commands.add_parser("rebuild", help="rebuild a damaged store from its archive of raw files")
    rebuild.add_argument(
        "--store", type=_store_folder, default=DEFAULT_STORE, help=f"store folder (default: {DEFAULT_STORE})"
    )
    rebuild.add_argument("--plan", type=plan_argument, default="")
    rebuild.set_defaults(func=_store_rebuild)

    national = commands.add_parser("national", help="every province at once, on a Dask cluster")
    national_commands = national.add_subparsers(dest="national_command", required=True)
    national_run = national_commands.add_parser("run", help="the reports of every province, on a Dask cluster")
    national_run.add_argument("--phase", choices=phase_names(), required=True)
    national_run.add_argument("--data", type=Path, required=True, help="the national folder (national.yaml)")
    national_run.add_argument("--out", type=Path, required=True)
    national_run.add_argument("--provinces", default="all", help="all (default) or GSO codes, comma-separated")
    national_run.add_argument(
        "--units",
        default="all",
        help="each province's reports: all (default: the province and its districts), province, or "
        "communes-2025 (the province and its new communes)",
    )
    national_run.add_argument(
        "--scheduler", default="", help="address of a running Dask scheduler (default: a LocalCluster here)"
    )
    national_run.add_argument(
        "--workers", type=positive_argument, default=None, help="LocalCluster workers (default: cores)"
    )
    national_run.add_argument("--lang", choices=LANGUAGES, default="vi")
    national_run.add_argument("--force", action="store_true", help="execute every report, even unchanged ones")
    national_run.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="folder of the report notebooks")
    national_run.set_defaults(func=_national_run)

    run = commands.add_parser("run", help="produce and publish the evaluation reports")
    what = run.add_mutually_exclusive_group(required=True)
    what.add_argument("--phase", choices=phase_names(), help="an evaluation (data/evaluation.yaml)")
    what.add_argument(
        "--review",
        type=_review,
        help="a progress review: YYYY (yearly), YYYY-<id> of the plan's reviews (YYYY-06: 6-month) or rounds "
        "(YYYY-final, YYYY-q1), or adhoc (with --as-of)",
    )
    run.add_argument(
        "--units",
        default="all",
        help="all (default: the province and its districts), province, communes-2025 (the province and the new "
        "communes), or district or new-commune codes or names, comma-separated",
    )
    run.add_argument(
        "--jobs", type=positive_argument, default=None, help="reports run in parallel (default: number of cores)"
    )
    run.add_argument(
        "--force", action="store_true", help="execute every report, even those unchanged since the published run"
    )
    run.add_argument("--lang", choices=LANGUAGES, default="vi")
    run.add_argument("--pdf", action="store_true", help="an A4 PDF beside each HTML report (needs WeasyPrint)")
    run.add_argument("--data", type=Path, default=DATA_DIR / "demo", help="data folder (default: the demo data)")
    run.add_argument("--plan", type=plan_argument, default="")
    run.add_argument("--out", type=Path, default=Path("outputs"))
    run.add_argument("--as-of", type=_date, default=None, help="YYYY-MM-DD (default: the end of the phase's year)")
    run.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="folder of the report notebooks")
    run.set_defaults(func=_run)

    survey = commands.add_parser("survey", help="survey data from KoboToolbox or ODK Collect")
    survey_commands = survey.add_subparsers(dest="survey_command", required=True)
    draft = survey_commands.add_parser("codebook", help="draft the codebook of an XLSForm")
    draft.add_argument("--form", type=_file, required=True, help="the XLSForm (.xlsx, .xls or .csv)")
    draft.add_argument("--export", type=_file, default=None, help="an export, to check its values against the draft")
    draft.add_argument("--out", type=Path, required=True, help="the codebook to write (.yaml)")
    draft.set_defaults(func=_survey_codebook)
    take = survey_commands.add_parser("import", help="make a field export a survey round of a data folder")
    take.add_argument("--form", type=_file, required=True, help="the XLSForm (.xlsx, .xls or .csv)")
    take.add_argument("--export", type=_file, required=True, help="KoboToolbox xlsx/csv or ODK Central csv/zip export")
    take.add_argument("--round", required=True, choices=survey_rounds())
    take.add_argument("--data", type=Path, required=True, help="the data folder (with villages.csv)")
    take.add_argument(
        "--codebook", type=_file, default=None, help="the form's codebook (default: drafted from the form)"
    )
    take.add_argument("--year", type=_year, default=None, help="the round's year, if the data folder does not say")
    take.set_defaults(func=_survey_import)
    release = survey_commands.add_parser(
        "release", help="a phase's survey rounds for analysts: replicate weights in place of strata and villages"
    )
    release.add_argument("--phase", choices=phase_names(), required=True)
    release.add_argument("--data", type=Path, default=DATA_DIR / "demo", help="data folder (default: the demo data)")
    release.add_argument("--plan", type=plan_argument, default="")
    release.add_argument("--out", type=Path, required=True, help="the folder to write survey-<phase>.csv and .yaml to")
    release.add_argument("--method", choices=["jkn", "bootstrap"], default="jkn")
    release.add_argument(
        "--replicates", type=positive_argument, default=None, help="bootstrap replicates (default: 50)"
    )
    release.add_argument("--seed", type=int, default=0, help="the bootstrap's seed and the rows' order")
    release.set_defaults(func=_survey_release)
    return parser


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv)[:1] == ["run"]:
        from d8lib.ops import worker

        # Before the plan is read: the report workers' libraries load meanwhile. A server
        # that cannot start here is started again by the run, which says why it cannot.
        with contextlib.suppress(OSError):
            worker.start_server()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "review", None) == "adhoc" and not args.as_of:
        parser.error("--review adhoc cần --as-of / --review adhoc needs --as-of")
    try:
        return args.func(args)
    except OSError as exc:  # the disk or the system, not the command line
        print(f"d8: không làm được / could not work: {printable(exc)}", file=sys.stderr)
        return EXIT_D8_FAILED


if __name__ == "__main__":
    sys.exit(main())

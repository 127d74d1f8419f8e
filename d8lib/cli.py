"""The ``d8`` command."""
from __future__ import annotations

import argparse
import sys

from d8lib import plan as plan_module


def _plan_check(args: argparse.Namespace) -> int:
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
    errors = sum(f.severity == "error" for f in findings)
    print(f"\n{errors} lỗi / errors, {len(findings) - errors} cảnh báo / warnings")
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="d8", description="Project 8 monitoring and evaluation workbench")
    commands = parser.add_subparsers(dest="command", required=True)

    plan_parser = commands.add_parser("plan", help="the plan as data")
    plan_commands = plan_parser.add_subparsers(dest="plan_command", required=True)
    check = plan_commands.add_parser("check", help="check a plan file's consistency")
    check.add_argument("file", nargs="?", default=None, help="plan YAML (default: the plan of data/config.yaml)")
    check.set_defaults(func=_plan_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""``d8 synth``: the demo's command, added to ``d8`` through the ``d8lib.commands``
entry point (the library does not import the demo)."""

from __future__ import annotations

import argparse
from pathlib import Path

from d8lib.cli import plan_argument, positive_argument


def add_command(commands: argparse._SubParsersAction) -> None:
    synth = commands.add_parser("synth", help="write the deterministic synthetic dataset")
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--seed", type=int, default=None, help="default: the seed of data/synth.yaml")
    synth.add_argument("--scale", type=int, default=1, help="multiply the survey size (benchmarks)")
    synth.add_argument("--plan", type=plan_argument, default="")
    synth.add_argument(
        "--national",
        type=positive_argument,
        default=0,
        help="K: a national dataset of K provinces (the demo province and synthetic plans)",
    )
    synth.set_defaults(func=_synth)


def _synth(args: argparse.Namespace) -> int:
    from d8demo.national import generate_national
    from d8demo.synth import generate

    if args.national:
        out = generate_national(args.out, args.national, seed=args.seed, scale=args.scale)
    else:
        out = generate(args.out, seed=args.seed, scale=args.scale, plan=args.plan)
    print(f"Đã tạo bộ dữ liệu mô phỏng / Synthetic dataset written: {out}")
    return 0

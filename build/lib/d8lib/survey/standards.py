"""Presentation standards of survey figures, declared as data (``data/standards/``).

``judge(results, standard)`` gives every estimate, change or difference a ``flag`` and
its ``reason``: ``ok``; ``review`` (shown, flagged for statistical review);
``caution`` (shown in parentheses); ``suppress`` (not shown); ``unavailable`` (no
estimate or no standard error). Reasons are codes (labels in ``data/labels.yaml``
under ``reasons``); where several rules of the same severity apply, their codes are
joined by ";". Reports, key findings and disclosure control read the flag, so each
threshold lives in one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core.paths import default_standard_path

SEVERITY = {"ok": 0, "review": 1, "caution": 2, "suppress": 3, "unavailable": 4}
KINDS = ("proportion", "difference", "model")  # model: small-area (model-based) estimates
SHOWN = ("ok", "review", "caution")


@dataclass(frozen=True)
class Standard:
    name: str
    source: str
    interval: str
    rules: tuple


def load_standard(path: str | Path | None = None) -> Standard:
    """A presentation standard (default: the one named in ``data/config.yaml``)."""
    return _load(str(path or default_standard_path()))


@lru_cache(maxsize=8)
def _load(path: str) -> Standard:
    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    rules = tuple(spec["rules"])
    for rule in rules:
        if rule["check"] not in CHECKS:
            raise ValueError(f"{path}: unknown check {rule['check']!r}; known: {sorted(CHECKS)}")
        if rule["action"] not in SEVERITY:
            raise ValueError(f"{path}: unknown action {rule['action']!r}")
    return Standard(spec["name"], spec.get("source", ""), spec.get("interval", "korn-graubard"), rules)


def _width(r: pd.DataFrame) -> pd.Series:
    return r.ci_high - r.ci_low


CHECKS = {
    "min_effective_n": lambda r, rule: r.n_eff < rule["value"],
    "min_n": lambda r, rule: r.n < rule["value"],
    "max_width": lambda r, rule: _width(r) >= rule["value"],
    "max_relative_width": lambda r, rule: (
        (_width(r) > rule.get("above_width", 0)) & (_width(r) / r.estimate.where(r.estimate > 0) > rule["value"])
    ),
    "complement_relative_width": lambda r, rule: (
        (_width(r) > rule.get("above_width", 0)) & (_width(r) / (1 - r.estimate).where(r.estimate < 1) > rule["value"])
    ),
    "min_df": lambda r, rule: r.df < rule["value"],
    "edge": lambda r, rule: (r.estimate <= 0) | (r.estimate >= 1),
}


def judge(results: pd.DataFrame, standard: Standard | None = None, kind: str = "proportion") -> pd.DataFrame:
    """``results`` with ``flag`` and ``reason`` columns, by the rules of ``standard``
    that apply to ``kind`` ("proportion", "difference" or "model": a model-based
    small-area estimate, whose ``se`` is its root MSE)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    standard = standard or load_standard()
    judged = results.copy()
    severity = np.zeros(len(judged), dtype=int)
    reasons = [[] for _ in range(len(judged))]

    def apply(hit: pd.Series, action: str, reason: str) -> None:
        level = SEVERITY[action]
        for i in np.flatnonzero(hit.fillna(False).to_numpy(dtype=bool)):
            if level > severity[i]:
                severity[i], reasons[i] = level, [reason]
            elif level == severity[i] and reason not in reasons[i]:
                reasons[i].append(reason)

    if len(judged):
        for rule in standard.rules:
            if kind in rule.get("applies_to", KINDS):
                apply(CHECKS[rule["check"]](judged, rule), rule["action"], rule["check"])
        zero = judged.se <= 0
        if kind == "proportion":
            zero &= (judged.estimate > 0) & (judged.estimate < 1)
        apply(zero, "review", "zero_se")
        stated = judged.unavailable.fillna("").astype(str) if "unavailable" in judged else pd.Series("", judged.index)
        for reason in sorted(set(stated) - {""}):
            apply(stated == reason, "unavailable", reason)
        apply((judged.estimate.isna() | judged.se.isna()) & stated.eq(""), "unavailable", "no_estimate")
    names = {v: k for k, v in SEVERITY.items()}
    judged["flag"] = [names[s] for s in severity]
    judged["reason"] = [";".join(r) for r in reasons]
    return judged

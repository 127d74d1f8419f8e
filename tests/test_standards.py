"""Presentation standards: each NCHS 2017 and DHS rule on figures worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

from d8lib.survey.standards import judge, load_standard

NCHS = load_standard(ROOT / "data" / "standards" / "nchs-2017.yaml")
DHS = load_standard(ROOT / "data" / "standards" / "dhs.yaml")


def figure(**values) -> dict:
    base = dict(estimate=0.40, se=0.02, ci_low=0.36, ci_high=0.44, n=600, n_eff=400.0, df=30)
    return base | values


CASES = [
    # (figure, NCHS flag, NCHS reasons)
    (figure(), "ok", ""),
    (figure(n_eff=29.9), "suppress", "min_effective_n"),
    (figure(ci_low=0.25, ci_high=0.55), "suppress", "max_width"),  # 30 points wide
    (figure(estimate=0.08, ci_low=0.02, ci_high=0.15), "suppress", "max_relative_width"),  # 0.13 / 0.08 = 163%
    (figure(estimate=0.02, ci_low=0.005, ci_high=0.045), "ok", ""),  # 4 points wide: relative width not applied
    (figure(df=7), "review", "min_df"),
    (figure(estimate=0.0, se=0.0, ci_low=0.0, ci_high=0.04), "review", "edge"),
    (figure(estimate=0.94, ci_low=0.85, ci_high=0.99), "review", "complement_relative_width"),  # 0.14 / 0.06
    (figure(se=0.0), "review", "zero_se"),
    (figure(estimate=np.nan, se=np.nan), "unavailable", "no_estimate"),
    (figure(df=4, n_eff=12), "suppress", "min_effective_n"),  # the most severe action wins
]


@pytest.mark.parametrize("values, flag, reason", CASES)
def test_nchs_rules(values, flag, reason):
    judged = judge(pd.DataFrame([values]), NCHS).iloc[0]
    assert (judged.flag, judged.reason) == (flag, reason)


def test_dhs_unweighted_cases():
    judged = judge(pd.DataFrame([figure(n=24), figure(n=25), figure(n=49), figure(n=50)]), DHS)
    assert judged.flag.tolist() == ["suppress", "caution", "caution", "ok"]


def test_differences_carry_degrees_of_freedom_and_availability():
    differences = pd.DataFrame(
        {
            "estimate": [0.1, 0.1, np.nan, 0.1],
            "se": [0.03, 0.03, np.nan, 0.0],
            "ci_low": [0.04, 0.04, np.nan, 0.1],
            "ci_high": [0.16, 0.16, np.nan, 0.1],
            "df": [20, 5, 0, 20],
            "unavailable": ["", "", "empty_cell", ""],
        }
    )
    judged = judge(differences, NCHS, kind="difference")
    assert judged.flag.tolist() == ["ok", "review", "unavailable", "review"]
    assert judged.reason.tolist() == ["", "min_df", "empty_cell", "zero_se"]


def test_every_reason_has_a_label_in_both_languages():
    from d8lib.core.labels import label
    from d8lib.survey.standards import CHECKS, SEVERITY

    for code in list(CHECKS) + ["zero_se", "no_estimate", "empty_cell", "missing_cell"]:
        assert label(f"reasons.{code}", "vi") and label(f"reasons.{code}", "en")
    for flag in SEVERITY:
        assert label(f"flag.{flag}", "vi") and label(f"flag.{flag}", "en")


def facts(standard) -> dict:
    return {"standard": standard.name, "standard_rules": list(standard.rules), "interval": standard.interval}


def test_the_standards_note_gives_each_rule_the_threshold_of_its_own_file():
    from d8lib.reports.sections import standard_note

    nchs = standard_note(facts(NCHS), "en")
    assert "Not shown when: effective sample size below 30; confidence interval 30 points wide or more; " in nchs
    assert "confidence interval wider than 130% of the estimate." in nchs
    assert "Flagged for review when: fewer than 8 degrees of freedom (too few villages); estimate of 0%" in nchs
    dhs = standard_note(facts(DHS), "en")
    assert dhs.startswith("Percentages are presented under the DHS rules on unweighted cases, with Korn-Graubard")
    assert "Not shown when: fewer than 25 unweighted cases. Shown in parentheses when: fewer than 50" in dhs
    assert "30" not in dhs  # the 30-point rule applies to model-based figures only
    assert "cỡ mẫu hiệu dụng dưới 30" in standard_note(facts(NCHS), "vi")


def test_a_flags_note_names_the_threshold_of_the_rule_that_fired():
    from d8lib.reports.sections import _flags

    judged = judge(pd.DataFrame([figure(n=30), figure(n=10)]), DHS)
    cells, notes = _flags(judged.itertuples(), "en", list(DHS.rules))
    assert cells == ["Caution (in parentheses) (1)", "Not shown (2)"]
    assert notes == [("note", "(1) fewer than 50 unweighted cases."), ("note", "(2) fewer than 25 unweighted cases.")]

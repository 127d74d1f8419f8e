"""Skip logic read by d8's own grammar: the expressions real forms use give the
values worked out by hand, and nothing else is ever executed."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest
from helpers import ROOT

from d8lib.core.skiplogic import MAX_DEPTH, MAX_LENGTH, MAX_TOKENS, Unsupported, holds, parse, references

# Five women; "" is an unanswered question, as ODK Collect records it.
FRAME = pd.DataFrame(
    {
        "married": ["1", "0", None, "1.0", "1"],
        "age": ["20", "15", "", "30", "49"],
        "reasons": ["argues burns", "argues", None, "", "none"],
        "reasons/argues": ["1", "1", None, "0", "0"],
        "name": ["Lan", "", None, "Súa", "Mai Anh"],
    }
)

# expression -> whether it holds for each of the five, worked out by hand
CASES = {
    "${married} = '1'": [True, False, False, True, True],  # '1.0' reads as the answer 1
    "${married} = 1": [True, False, False, True, True],
    "${married} != '1'": [False, True, True, False, False],
    "${age} > 18": [True, False, False, True, True],
    "${age} >= 15 and ${age} < 30": [True, True, False, False, False],
    "${married} = '1' or ${age} = 15": [True, True, False, True, True],
    "not(${married} = '1')": [False, True, True, False, False],
    "selected(${reasons}, 'argues')": [True, True, False, False, False],
    "selected(${reasons}, 'burns')": [True, False, False, False, False],
    "not(selected(${reasons}, 'none'))": [True, True, True, True, False],
    "count-selected(${reasons}) >= 2": [True, False, False, False, False],
    "string-length(${name}) > 3": [False, False, False, False, True],
    "${name} != ''": [True, False, False, True, True],
    "if(${married} = '1', ${age}, 0) > 25": [False, False, False, True, True],
    "coalesce(${name}, 'x') = 'x'": [False, True, True, False, False],
    "${age} + 5 * 2 = 30": [True, False, False, False, False],  # 20 + 10
    "(${age} + 5) * 2 = 50": [True, False, False, False, False],
    "${age} div 5 = 3": [False, True, False, False, False],
    "${age} mod 2 = 1": [False, True, False, False, True],
    "-${age} < -25": [False, False, False, True, True],
    ". = '1'": [True, False, False, True, True],  # the question's own answer
    "true()": [True] * 5,
    "false() or ${age} = 49": [False, False, False, False, True],
    "contains(${name}, 'An')": [False, False, False, False, True],
    "starts-with(${name}, 'S')": [False, False, False, True, False],
    "number(${age}) > 16": [True, False, False, True, True],
    "boolean(${name})": [True, False, False, True, True],
}


@pytest.mark.parametrize("expression", list(CASES))
def test_the_expressions_of_real_forms_give_the_values_worked_out_by_hand(expression):
    got = holds(expression, FRAME, current="married")
    assert got.tolist() == CASES[expression]


def test_names_resolve_to_the_columns_they_stand_for():
    frame = FRAME.rename(columns={"age": "women/age"})
    assert holds("${age} > 18", frame, names={"age": "women/age"}).tolist() == CASES["${age} > 18"]
    assert references(parse("${a} = 1 and selected(${b}, 'x') or if(${c}, 1, 2) = ${a}")) == {"a", "b", "c"}


PAYLOADS = [
    "(age.__class__.__init__.__globals__['sys'].modules['os'].system)('id > FILE')",
    "${age}.__class__",
    "__import__('os').system('id')",
    "@eval('1')",
    "${age} = 1; import os",
    "regex(${name}, '(a+)+$')",  # a function d8 does not evaluate
    "jr:choice-name(${married}, '${married}')",
    "/data/age > 1",
    "${age} = ",
    "${age} = 1)",
    "((${age} = 1)",
    "'unterminated",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_anything_else_is_refused_by_name_and_never_run(tmp_path, payload):
    marker = tmp_path / "FILE"
    with pytest.raises(Unsupported) as refused:
        holds(payload.replace("FILE", str(marker)), FRAME)
    assert refused.value.vi and refused.value.en
    assert not marker.exists()


@pytest.mark.parametrize(
    "expression, bound",
    [
        ("${age} = 1 or " * 1000 + "${age} = 1", f"longer than {MAX_LENGTH}"),
        (" or ".join(["1=1"] * (MAX_TOKENS // 4 + 10)), f"more than {MAX_TOKENS} tokens"),
        ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH}"),
        ("not(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH}"),
        ("-" * (MAX_DEPTH + 1) + "1", f"deeper than {MAX_DEPTH}"),
        ("'" + "a" * MAX_LENGTH + "'", f"longer than {MAX_LENGTH}"),
        ("${age}" + " " * 300_000, f"longer than {MAX_LENGTH}"),
    ],
)
def test_long_and_deep_expressions_are_refused_quickly(expression, bound):
    started = time.perf_counter()
    with pytest.raises(Unsupported, match=bound):
        holds(expression, FRAME)
    assert time.perf_counter() - started < 5  # a bound, not a benchmark: quadratic work would take minutes


def test_a_long_chain_within_the_bounds_is_read_in_a_loop():
    chain = " and ".join(["${age}>1"] * 240)  # a tree this deep would strain Python's recursion
    assert holds(chain, FRAME).tolist() == [True, True, False, True, True]


def test_no_input_text_is_ever_evaluated_by_python_anywhere_in_d8():
    """No eval, exec, DataFrame.eval / query, compile or template rendering in the library."""
    pattern = re.compile(r"(?<![.\w])(eval|exec|compile)\s*\(|\.(eval|query|render)\s*\(|Template\s*\(")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "d8lib").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == [], found


@pytest.mark.parametrize("expression", list(CASES))
def test_numbers_held_as_numbers_give_the_same_values(expression):
    numeric = FRAME.assign(
        married=pd.to_numeric(FRAME.married), age=pd.to_numeric(FRAME.age.replace("", None)).astype(float)
    )
    assert holds(expression, numeric, current="married").tolist() == CASES[expression]


def test_d8s_own_rules_give_what_pandas_gives_on_the_demo_survey():
    """The rules of outcomes.yaml, against pandas' own reading of the same conditions."""
    from d8lib.core.skiplogic import rule

    survey = pd.read_csv(ROOT / "data" / "demo" / "survey" / "endline-2025.csv")
    pairs = {
        "age >= 15 and age <= 49": "(age >= 15) & (age <= 49)",
        "ipv_physical_12m = 1 or ipv_sexual_12m = 1": "(ipv_physical_12m == 1) | (ipv_sexual_12m == 1)",
        "marital_status = 'married' or marital_status = 'cohabiting'": "marital_status.isin(['married', 'cohabiting'])",
        "marital_status != 'never' and age_first_union = ''": "(marital_status != 'never') & age_first_union.isna()",
        "birth_place = 'home'": "birth_place == 'home'",
        "anc_visits >= 4": "anc_visits >= 4",
    }
    for ours, theirs in pairs.items():
        expected = survey.eval(theirs).fillna(False).astype(bool)  # the peer, on our own text
        assert rule(ours, survey).equals(expected), ours

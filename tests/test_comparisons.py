"""Comparisons of rounds and groups of villages: changes, differences in differences
pooled and within districts, their logit-scale versions, by hand and by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from d8lib.survey.comparisons import (
    change,
    difference_in_differences,
    within_difference_in_differences,
)
from d8lib.survey.design import Design


def test_change_between_independent_rounds_equals_the_stacked_design():
    def round_(shift, seed):
        r = np.random.default_rng(seed)
        n = 600
        return pd.DataFrame(
            {
                "stratum": r.integers(0, 3, n),
                "psu": r.integers(0, 8, n),
                "w": r.uniform(1, 3, n),
                "y": (r.random(n) < 0.3 + shift).astype(float),
                "d": r.integers(0, 2, n),
            }
        )

    before, after = round_(0.0, 1), round_(0.1, 2)
    a = Design(before, "w", "stratum", "psu").mean("y", by="d")
    b = Design(after, "w", "stratum", "psu").mean("y", by="d")
    changes = change(a, b, by="d")
    stacked = pd.concat([before.assign(round="a"), after.assign(round="b")], ignore_index=True)
    stacked["stratum"] = stacked["round"] + stacked.stratum.astype(str)
    design = Design(stacked, "w", "stratum", "psu")
    for row in changes.itertuples():
        test = design.contrast("y", ["d", "round"], {(row.d, "b"): 1, (row.d, "a"): -1})
        assert row.estimate == pytest.approx(test.estimate, rel=1e-12)
        assert row.se == pytest.approx(test.se, rel=1e-12)
        assert row.df == test.df
        assert row.p_value == pytest.approx(test.p_value, rel=1e-9)


def test_difference_in_differences_with_independent_cells_by_hand():
    rng = np.random.default_rng(5)
    frames = []
    for round_, group, level in [(0, "P", 0.40), (1, "P", 0.25), (0, "C", 0.40), (1, "C", 0.35)]:
        n = 800
        frames.append(
            pd.DataFrame(
                {
                    "round": round_,
                    "group": group,
                    "district": rng.integers(0, 3, n),
                    "village": rng.integers(0, 10, n),
                    "w": rng.uniform(1, 2, n),
                    "y": (rng.random(n) < level).astype(float),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    # Every round x group cell its own strata: the four means are independent.
    data["stratum"] = data["round"].astype(str) + data.group + data.district.astype(str)
    design = Design(data, "w", "stratum", "village")
    did = difference_in_differences(design, "y", "round", "group", periods=(0, 1), groups=("P", "C")).iloc[0]
    cells = design.mean("y", by=["group", "round"]).set_index(["group", "round"])
    expected = (cells.estimate["P", 1] - cells.estimate["P", 0]) - (cells.estimate["C", 1] - cells.estimate["C", 0])
    assert did.estimate == pytest.approx(expected, rel=1e-12)
    assert did.se == pytest.approx(np.sqrt((cells.se**2).sum()), rel=1e-9)
    assert did.ci_low < did.estimate < did.ci_high and 0 <= did.p_value <= 1
    by_district = difference_in_differences(design, "y", "round", "group", (0, 1), ("P", "C"), by="district")
    assert len(by_district) == 3 and by_district.se.gt(did.se).all()


def test_shared_clusters_across_rounds_enter_the_covariance():
    rng = np.random.default_rng(9)
    villages = rng.normal(scale=1.0, size=30)  # a lasting village effect
    rows = []
    for round_ in (0, 1):
        for v in range(30):
            for _ in range(20):
                rows.append((round_, v // 10, v, villages[v] + rng.normal() + 0.3 * round_))
    data = pd.DataFrame(rows, columns=["round", "stratum", "village", "y"]).assign(w=1.0)
    shared = Design(data, "w", "stratum", "village")
    test = shared.contrast("y", "round", {1: 1, 0: -1})
    independent = change(
        Design(data[data["round"] == 0], "w", "stratum", "village").mean("y"),
        Design(data[data["round"] == 1], "w", "stratum", "village").mean("y"),
    ).iloc[0]
    assert test.estimate == pytest.approx(independent.estimate)
    assert test.se < independent.se / 2  # the village effect cancels in the change


def _four_cells(rng, levels: dict, district: str, n: int = 400) -> pd.DataFrame:
    frames = []
    for (round_, group), level in levels.items():
        frames.append(
            pd.DataFrame(
                {
                    "round": round_,
                    "group": group,
                    "district": district,
                    "village": [f"{district}{group}{v}" for v in rng.integers(0, 6, n)],
                    "w": rng.uniform(1, 2, n),
                    "y": (rng.random(n) < level).astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_within_district_difference_is_the_average_of_the_districts_differences():
    rng = np.random.default_rng(8)
    data = pd.concat(
        [
            _four_cells(rng, {(0, "P"): 0.5, (1, "P"): 0.3, (0, "C"): 0.5, (1, "C"): 0.45}, "A"),
            _four_cells(rng, {(0, "P"): 0.2, (1, "P"): 0.15, (0, "C"): 0.25, (1, "C"): 0.25}, "B"),
            _four_cells(rng, {(0, "C"): 0.3, (1, "C"): 0.3}, "K", n=300)[
                lambda d: d.group == "C"
            ],  # no project villages
        ],
        ignore_index=True,
    )
    data["stratum"] = data.district + data.group
    design = Design(data, "w", "stratum", "village")
    per_district = difference_in_differences(design, "y", "round", "group", (0, 1), ("P", "C"), by="district")
    assert per_district.district.tolist() == ["A", "B"]  # K has no project villages
    within = within_difference_in_differences(design, "y", "round", "group", (0, 1), ("P", "C"), within="district")
    row = within.iloc[0]
    assert row.domains == 2
    assert row.estimate == pytest.approx(per_district.estimate.mean(), rel=1e-12)
    # The two districts share no PSU: the variance of the average is the sum of variances over four.
    assert row.se == pytest.approx(np.sqrt((per_district.se**2).sum()) / 2, rel=1e-9)
    assert row.logit_estimate == pytest.approx(per_district.logit_estimate.mean(), rel=1e-12)
    pooled = difference_in_differences(design, "y", "round", "group", (0, 1), ("P", "C")).iloc[0]
    assert pooled.estimate != pytest.approx(row.estimate)  # district K's comparison villages enter the pooled one


def test_logit_scale_difference_by_the_delta_method():
    rng = np.random.default_rng(4)
    data = _four_cells(rng, {(0, "P"): 0.4, (1, "P"): 0.25, (0, "C"): 0.4, (1, "C"): 0.35}, "A", n=800)
    data["stratum"] = data["round"].astype(str) + data.group  # four independent cells
    design = Design(data, "w", "stratum", "village")
    row = difference_in_differences(design, "y", "round", "group", (0, 1), ("P", "C")).iloc[0]
    cells = design.mean("y", by=["group", "round"]).set_index(["group", "round"])
    logit = np.log(cells.estimate / (1 - cells.estimate))
    assert row.logit_estimate == pytest.approx(
        (logit["P", 1] - logit["P", 0]) - (logit["C", 1] - logit["C", 0]), rel=1e-12
    )
    variance = (cells.se**2 / (cells.estimate * (1 - cells.estimate)) ** 2).sum()
    assert row.logit_se == pytest.approx(np.sqrt(variance), rel=1e-9)
    assert 0 <= row.logit_p_value <= 1

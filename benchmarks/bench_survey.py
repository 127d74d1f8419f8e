"""Benchmark: a proportion by 9 domains on a large stratified cluster sample, with
Korn-Graubard intervals and each domain's degrees of freedom.

d8lib, svy (the Rust-backed successor of samplics) and samplics estimate the same
thing in the same process; the script checks that estimates, standard errors and (for
svy) the Korn-Graubard intervals agree to 1e-9 relative, and prints the time ratios
and d8lib's peak memory as a multiple of the input columns.

    python benchmarks/bench_survey.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import polars as pl
import svy

from d8lib.survey.design import Design

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from samplics import PopParam, TaylorEstimator


def sample(rows: int, strata: int = 50, psus: int = 1000, domains: int = 9, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, psus, rows)
    return pd.DataFrame(
        {
            "stratum": psu % strata,
            "psu": psu,
            "weight": rng.uniform(50, 400, rows),
            "y": (rng.random(rows) < 0.1 + 0.4 * (psu % 7) / 7).astype(float),
            "domain": rng.integers(0, domains, rows),
        }
    )


def run_d8(data: pd.DataFrame) -> pd.DataFrame:
    return Design(data, "weight", "stratum", "psu").mean("y", by="domain", ci="korn-graubard")


def run_svy(data: pl.DataFrame) -> pd.DataFrame:
    sample = svy.Sample(data=data, design=svy.Design(stratum="stratum", psu="psu", wgt="weight"))
    result = sample.estimation.prop("y", by="domain", ci_method="korn-graubard").to_polars().to_pandas()
    return result[result.y == 1.0].set_index("domain")


def run_samplics(data: pd.DataFrame) -> TaylorEstimator:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = TaylorEstimator(PopParam.prop)
        estimator.estimate(y=data.y, samp_weight=data.weight, stratum=data.stratum, psu=data.psu, domain=data.domain)
    return estimator


def best_time(function, data, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(data)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = sample(args.rows)

    d8_seconds, ours = best_time(run_d8, data, args.repeat)
    svy_seconds, by_svy = best_time(run_svy, pl.from_pandas(data), args.repeat)
    samplics_seconds, theirs = best_time(run_samplics, data, max(1, args.repeat - 2))

    worst = 0.0
    for row in ours.itertuples():
        other = by_svy.loc[row.domain]
        pairs = [
            (row.estimate, theirs.point_est[row.domain][1.0]),
            (row.se, theirs.stderror[row.domain][1.0]),
            (row.estimate, other.est),
            (row.se, other.se),
            (row.ci_low, other.lci),
            (row.ci_high, other.uci),
        ]
        worst = max([worst] + [abs(mine - theirs_) / abs(theirs_) for mine, theirs_ in pairs])
        assert row.df == other.df, (row.domain, row.df, other.df)
    assert worst < 1e-9, f"d8lib, svy and samplics differ by {worst:.2e} relative"

    tracemalloc.start()
    run_d8(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    input_bytes = sum(data[c].to_numpy().nbytes for c in data)

    print(f"rows {args.rows:,}, strata 50, PSUs 1,000, domains 9")
    print(f"d8lib    {d8_seconds:8.3f} s (best of {args.repeat})")
    print(f"svy      {svy_seconds:8.3f} s (best of {args.repeat})")
    print(f"samplics {samplics_seconds:8.3f} s")
    print(
        f"ratio    {svy_seconds / d8_seconds:8.1f}x faster than svy, {samplics_seconds / d8_seconds:.1f}x faster than "
        f"samplics; max relative difference {worst:.1e}"
    )
    print(
        f"memory   d8lib peak {peak / 2**20:.0f} MiB = {peak / input_bytes:.1f}x the input columns "
        f"({input_bytes / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    main()

"""Random streams and the small draws every part of the synthetic dataset shares."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream for each named part, so that one part can change
    without moving the others and no two parts share their draws."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def logistic(x):
    return 1 / (1 + np.exp(-x))


def logit(p):
    return np.log(p / (1 - p))


def allocate(total: int, weights: pd.Series) -> pd.Series:
    """Split a whole number in proportion to weights (largest remainders)."""
    exact = total * weights / weights.sum()
    base = np.floor(exact).astype(int)
    extra = (exact - base).sort_values(ascending=False).index[: total - base.sum()]
    base[extra] += 1
    return base

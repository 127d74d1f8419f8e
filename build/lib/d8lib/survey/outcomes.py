"""Outcome indicators over survey microdata, estimated through ``Design``.

Definitions are data (default: ``data/indicators/outcomes.yaml``): each names its
universe (who is asked: the denominator), its numerator, the answers it needs and
whether higher is better. The universe is a domain of the full design, never a
subset of rows, so standard errors stay design-based.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core.paths import DATA_DIR
from d8lib.core.skiplogic import rule
from d8lib.survey.design import Design
from d8lib.survey.standards import load_standard

DEFAULT_DEFINITIONS = DATA_DIR / "indicators" / "outcomes.yaml"
AGE_GROUPS = [(15, 19), (20, 24), (25, 29), (30, 34), (35, 39), (40, 44), (45, 49)]
_IN_UNIVERSE = "_in_universe"
_ANSWER = "_answer"


def load_definitions(path: str | Path | None = None) -> pd.DataFrame:
    """Outcome indicator definitions, one row per indicator code."""
    return _definitions(str(path or DEFAULT_DEFINITIONS)).copy()


@lru_cache(maxsize=4)
def _definitions(path: str) -> pd.DataFrame:
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    frame = pd.DataFrame([dict(code=code, **spec) for code, spec in data.items()])
    if "missing_when" not in frame:
        frame["missing_when"] = None
    frame["headline"] = frame.get("headline", pd.Series(False, index=frame.index)).fillna(False).astype(bool)
    return frame.set_index("code", drop=False)


def age_group_spec() -> dict:
    """The five-year age groups as a codebook's derived variable (bins as data)."""
    return {
        "from": "age",
        "bins": [low for low, _ in AGE_GROUPS] + [AGE_GROUPS[-1][1] + 1],
        "labels": [f"{low}-{high}" for low, high in AGE_GROUPS],
    }


def age_group(age: pd.Series) -> pd.Series:
    """Five-year age groups "15-19" ... "45-49"; other ages get no group."""
    labels = [f"{low}-{high}" for low, high in AGE_GROUPS]
    return pd.cut(age, bins=[14.5] + [high + 0.5 for _, high in AGE_GROUPS], labels=labels).astype("string")


def indicator_columns(data: pd.DataFrame, spec: pd.Series) -> pd.DataFrame:
    """The universe flag (1 or missing) and the 0/1 answer (missing where not known)."""
    universe = rule(spec.universe, data)
    answer = rule(spec.numerator, data).astype(float)
    unknown = data[list(spec.variables)].isna().any(axis=1)
    if isinstance(spec.missing_when, str):
        unknown |= rule(spec.missing_when, data)
    return pd.DataFrame(
        {_IN_UNIVERSE: np.where(universe, 1.0, np.nan), _ANSWER: answer.mask(unknown | ~universe)}, index=data.index
    )


def with_indicators(design: Design, definitions: pd.DataFrame | None = None) -> Design:
    """The design with every indicator's universe flag and answer added as columns, so
    that repeated estimates do not evaluate the definitions again."""
    definitions = load_definitions() if definitions is None else definitions
    added = {}
    for code, spec in definitions.iterrows():
        columns = indicator_columns(design.data, spec)
        added[f"{_IN_UNIVERSE}:{code}"] = columns[_IN_UNIVERSE]
        added[f"{_ANSWER}:{code}"] = columns[_ANSWER]
    return design.assign(**added)


def for_indicator(design: Design, spec: pd.Series) -> tuple[Design, str, str]:
    """A design holding one indicator's universe flag and answer, and the names of those
    two columns (no copy when ``with_indicators`` prepared them)."""
    universe, answer = f"{_IN_UNIVERSE}:{spec.code}", f"{_ANSWER}:{spec.code}"
    if answer in design.data:
        return design, universe, answer
    return design.assign(**indicator_columns(design.data, spec)), _IN_UNIVERSE, _ANSWER


def estimate(
    design: Design,
    codes: list[str] | None = None,
    by: str | list[str] | None = None,
    definitions: pd.DataFrame | None = None,
    ci: str | None = None,
) -> pd.DataFrame:
    """Estimate outcome indicators per domain, with the interval ``ci`` (default: that of
    the presentation standard in use, as the reports give it).

    Returns one row per indicator and domain: ``indicator``, the ``by`` columns, the
    columns of ``Design.mean`` (``n`` counts women of the universe who answered,
    ``n_missing`` those who did not), then ``higher_is_better``, ``name_vi``, ``name_en``.
    """
    definitions = load_definitions() if definitions is None else definitions
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    codes = list(definitions.index) if codes is None else codes
    frames = []
    for code in codes:
        spec = definitions.loc[code]
        prepared, universe, answer = for_indicator(design, spec)
        interval = ci or load_standard().interval
        result = prepared.mean(answer, by=by + [universe], ci=interval, missing="exclude").drop(columns=universe)
        result.insert(0, "indicator", code)
        frames.append(
            result.assign(higher_is_better=bool(spec.higher_is_better), name_vi=spec.name_vi, name_en=spec.name_en)
        )
    return pd.concat(frames, ignore_index=True)

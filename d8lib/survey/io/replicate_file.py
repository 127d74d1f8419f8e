"""A survey file with replicate weights in place of strata and villages.

An analyst outside the team estimates from it with correct standard errors, in d8
(``read``) or in R (the ``svrepdesign`` call its sidecar gives), without the design's
geography: the file holds only the columns it is given, the full-sample weight and one
weight per replicate; its rows are shuffled, so their order tells nothing of the
villages they were sorted by. The sidecar (``<file>.yaml``) holds what a replicate
design needs beside the weights: the method, scale, each replicate's rscale and
whether variances centre on the full-sample estimate. Replicate weights still show
which rows share a village (a jackknife replicate leaves a whole village out); they do
not show which village it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from d8lib.core.atomic import write_text
from d8lib.survey.design import DesignError
from d8lib.survey.replicates import ReplicateDesign

WEIGHT = "weight"
PREFIX = "rw_"
R_TYPES = {"jk1": "JK1", "jkn": "JKn", "bootstrap": "bootstrap", "brr": "BRR", "other": "other"}


def replicate_table(design: ReplicateDesign, columns: list[str], seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """``columns`` of the design's rows with the weight in use and the replicate weights
    (``rw_1`` ...), rows shuffled by ``seed``; and the settings that read them back."""
    names = [f"{PREFIX}{r + 1}" for r in range(design.n_replicates)]
    frame = pd.concat(
        [
            design.data[columns].reset_index(drop=True),
            pd.DataFrame({WEIGHT: design.weights.to_numpy()}),
            design.replicate_weights.set_axis(names, axis=1).reset_index(drop=True),
        ],
        axis=1,
    )
    frame = frame.iloc[np.random.default_rng(seed).permutation(len(frame))].reset_index(drop=True)
    settings = {
        "method": design.method,
        "weight": WEIGHT,
        "replicate_weights": f"^{PREFIX}[0-9]+$",
        "scale": design.scale,
        "rscales": design.rscales.tolist(),
        "mse": design.mse,
        "rows": len(frame),
    }
    return frame, settings


def r_call(settings: dict, file_name: str) -> str:
    """The R ``survey`` call that reads the file as the replicate design it is."""
    rscales = ", ".join(repr(r) for r in settings["rscales"])
    return (
        f'svrepdesign(data = read.csv("{file_name}"), weights = ~{settings["weight"]}, '
        f'repweights = "{settings["replicate_weights"]}", type = "{R_TYPES[settings["method"]]}", '
        f"combined.weights = TRUE, scale = {settings['scale']!r}, rscales = c({rscales}), "
        f"mse = {'TRUE' if settings['mse'] else 'FALSE'})"
    )


def write(frame: pd.DataFrame, settings: dict, path: Path, about: dict | None = None) -> Path:
    """The table as ``path`` (CSV, UTF-8) and its settings, with ``about`` (what the
    columns mean) and the R call, as ``path.with_suffix('.yaml')``."""
    path = Path(path)
    write_text(path, frame.to_csv(index=False, float_format="%.17g"))
    sidecar = {**(about or {}), **settings, "r": r_call(settings, path.name)}
    write_text(path.with_suffix(".yaml"), yaml.safe_dump(sidecar, allow_unicode=True, sort_keys=False))
    return path


def read(path: Path) -> ReplicateDesign:
    """The replicate design of a file ``write`` made."""
    path = Path(path)
    try:
        settings = yaml.safe_load(path.with_suffix(".yaml").read_text(encoding="utf-8"))
        data = pd.read_csv(path)
    except (OSError, yaml.YAMLError, pd.errors.ParserError) as exc:
        raise DesignError(f"Không đọc được {path} / Could not read {path}: {exc}") from None
    if len(data) != settings.get("rows"):
        raise DesignError(
            f"{path}: {len(data)} dòng, tệp mô tả ghi {settings.get('rows')} / "
            f"{len(data)} rows where its sidecar says {settings.get('rows')}"
        )
    return ReplicateDesign.given(
        data,
        settings["weight"],
        settings["replicate_weights"],
        settings["method"],
        settings["scale"],
        settings["rscales"],
        settings["mse"],
    )

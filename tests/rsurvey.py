"""R's ``survey`` package as the reference estimator: run R code on a data frame and
read back the data frame it leaves in ``out``. Tests skip, saying why, where R or the
package is absent (``.ci/run`` installs Debian's r-base-core and r-cran-survey)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

PREAMBLE = """
suppressPackageStartupMessages(library(survey))
options(digits = 17)
df <- read.csv("data.csv", stringsAsFactors = FALSE)
"""


@lru_cache(maxsize=1)
def r_survey_version() -> str | None:
    """The installed version of R's survey package, or None."""
    if shutil.which("Rscript") is None:
        return None
    done = subprocess.run(
        ["Rscript", "-e", "cat(as.character(packageVersion('survey')))"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def require_r() -> None:
    if r_survey_version() is None:
        pytest.skip("R and its survey package are not installed (apt-get install r-base-core r-cran-survey)")


def run_r(code: str, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run ``code`` after reading ``data`` into ``df``; return the data frame ``out``."""
    require_r()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (data if data is not None else pd.DataFrame({"x": [0]})).to_csv(folder / "data.csv", index=False)
        script = PREAMBLE + code + '\nwrite.csv(out, "out.csv", row.names = FALSE)\n'
        (folder / "script.R").write_text(script, encoding="utf-8")
        done = subprocess.run(["Rscript", "script.R"], cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"R failed:\n{done.stderr}")
        return pd.read_csv(folder / "out.csv", keep_default_na=True)


def api(name: str) -> pd.DataFrame:
    """One of the California API samples shipped with R's survey package."""
    return run_r(f"data(api); out <- {name}")

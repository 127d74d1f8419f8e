"""R's ``survey`` package as the reference estimator: run R code on a data frame and
read back the data frame it leaves in ``out``. One R process per test worker runs the
scripts in turn, each in a fresh environment (``SERVER``), so that R and its survey
package load once, not once per comparison.

R's answers on data d8 makes (``schools``, the national demo) are stored with the tests
(``tests/data/r-results/``, named by the digest of the code and the data), as
statsmodels stores its R results: where R is absent, the comparison reads them; where R
is present, R answers again and must agree with what is stored.
``D8_WRITE_R_RESULTS=1 make test`` writes them anew. Comparisons on R's own data sets
(``api``), which the repository does not copy, skip where R is absent, saying why
(``.ci/run`` installs Debian's r-base-core and r-cran-survey)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

RESULTS = Path(__file__).parent / "data" / "r-results"

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
    """Run ``code`` after reading ``data`` into ``df``; return the data frame ``out``.
    R's answer on data d8 made (``data.attrs["d8"]``) is the stored one where R is absent."""
    table = (data if data is not None else pd.DataFrame({"x": [0]})).to_csv(index=False)
    stored = RESULTS / f"{hashlib.sha256((code + chr(0) + table).encode()).hexdigest()[:20]}.csv"
    ours = data is not None and data.attrs.get("d8", False)
    if r_survey_version() is None and ours and stored.exists():
        return pd.read_csv(stored, keep_default_na=True)
    require_r()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "data.csv").write_text(table, encoding="utf-8")
        script = PREAMBLE + code + '\nwrite.csv(out, "out.csv", row.names = FALSE)\n'
        (folder / "script.R").write_text(script, encoding="utf-8")
        _session().run(folder)
        answer = (folder / "out.csv").read_text(encoding="utf-8")
    if ours and (os.environ.get("D8_WRITE_R_RESULTS") or not stored.exists()):
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(answer, encoding="utf-8")
    fresh = pd.read_csv(io.StringIO(answer), keep_default_na=True)
    if ours:  # what is stored is R's answer still
        pd.testing.assert_frame_equal(fresh, pd.read_csv(stored, keep_default_na=True), rtol=1e-12, atol=1e-15)
    return fresh


DONE = "<<d8: script done>>"

# Each script runs in a fresh environment of one R process, its working folder, options
# and random numbers' state restored after it: as if run alone, without loading R and
# its survey package each time.
SERVER = f"""
suppressPackageStartupMessages(library(survey))
d8_run <- function(folder) {{
  options_before <- options()
  folder_before <- getwd()
  seed_before <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
  on.exit({{
    options(options_before)
    setwd(folder_before)
    if (is.null(seed_before)) suppressWarnings(rm(".Random.seed", envir = globalenv()))
    else assign(".Random.seed", seed_before, envir = globalenv())
  }})
  setwd(folder)
  tryCatch({{ sys.source("script.R", envir = new.env(parent = globalenv())); "ok" }},
           error = function(e) paste("error:", conditionMessage(e)))
}}
requests <- file("stdin")
open(requests)
while (length(line <- readLines(requests, n = 1)) > 0) {{
  cat("\\n", d8_run(line), "\\n{DONE}\\n", sep = "")
  flush(stdout())
}}
"""


class _RSession:
    """One R process per test worker, running the scripts it is given in turn."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["Rscript", "--vanilla", "-e", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def run(self, folder: Path) -> None:
        """Run ``folder/script.R`` with ``folder`` as R's working folder."""
        self.process.stdin.write(f"{folder}\n")
        self.process.stdin.flush()
        lines = []
        while (line := self.process.stdout.readline()) and line.rstrip("\n") != DONE:
            lines.append(line)
        if not line:
            _session.cache_clear()  # the next script starts another R
            raise RuntimeError("R ended: " + "".join(lines))
        if lines[-1].strip() != "ok":
            raise RuntimeError("R failed:\n" + "".join(lines))


@lru_cache(maxsize=1)
def _session() -> _RSession:
    return _RSession()


@lru_cache(maxsize=4)
def _api(name: str) -> pd.DataFrame:
    return run_r(f"data(api); out <- {name}")


def api(name: str) -> pd.DataFrame:
    """One of the California API samples shipped with R's survey package."""
    return _api(name).copy()


def schools(name: str) -> pd.DataFrame:
    """A sample of d8's own making with the columns and the design of R's ``name``
    (``apistrat``: schools stratified by type, 13 of 40 counties with one school;
    ``apiclus1``: every school of 15 districts drawn from 757; ``apiclus2``: up to 5
    schools of each of 40 districts, some without enrolment), other values: R's answers
    on it are stored, so its comparisons run without R."""
    rng = np.random.default_rng(["apistrat", "apiclus1", "apiclus2"].index(name) + 11)
    if name == "apistrat":
        sizes, population = {"E": 100, "H": 50, "M": 50}, {"E": 4421, "H": 755, "M": 1018}
        stype = np.repeat(list(sizes), list(sizes.values()))
        frame = pd.DataFrame({"stype": stype, "fpc": [population[t] for t in stype]})
        frame["pw"] = frame.fpc / frame.stype.map(sizes)
        counties = [f"C{k:02d}" for k in range(40)]  # 13 with one school, 27 sharing the other 187
        names = counties[:13] + counties[13:] * 2 + rng.choice(counties[13:], 187 - 54).tolist()
        rng.shuffle(names)
        frame["cname"] = names
        frame["dnum"] = rng.integers(1, 757, len(frame))
    elif name == "apiclus1":
        districts = np.sort(rng.choice(np.arange(1, 758), 15, replace=False))
        frame = pd.DataFrame({"dnum": np.repeat(districts, rng.integers(3, 14, 15))})
        frame["fpc"], frame["pw"] = 757.0, 757 / 15
    else:
        districts = np.sort(rng.choice(np.arange(1, 758), 40, replace=False))
        in_district = rng.integers(1, 9, 40)
        drawn = np.minimum(in_district, 5)
        frame = pd.DataFrame({"dnum": np.repeat(districts, drawn), "fpc2": np.repeat(in_district, drawn)})
        frame["snum"] = frame.groupby("dnum").cumcount() + 1
        frame["fpc1"] = 757.0
        frame["pw"] = 757 / 40 * frame.fpc2 / frame.dnum.map(frame.dnum.value_counts())
    n = len(frame)
    if "stype" not in frame:
        frame["stype"] = rng.choice(["E", "H", "M"], n, p=[0.7, 0.15, 0.15])
    if "cname" not in frame:
        frame["cname"] = "C" + (frame.dnum % 11).astype(str)
    frame["enroll"] = np.round(rng.lognormal(6.0, 0.6, n) * frame.stype.map({"E": 1, "H": 3, "M": 1.8}))
    frame["api99"] = np.round(rng.normal(630, 110, n))
    frame["api00"] = np.round(frame.api99 + rng.normal(30, 25, n))
    frame["api.stu"] = np.round(frame.enroll * rng.uniform(0.75, 0.95, n))
    frame["sch.wide"] = np.where(frame.api00 - frame.api99 > rng.normal(20, 20, n), "Yes", "No")
    frame["awards"] = np.where(rng.random(n) < 0.6, "Yes", "No")
    if name == "apiclus2":
        frame.loc[rng.choice(n, 4, replace=False), "enroll"] = np.nan
    frame.attrs["d8"] = True
    return frame


SOURCES = ["R", "d8"]  # R's school samples, or d8's of their shape


def sample(name: str, source: str) -> pd.DataFrame:
    """R's school sample ``name`` (``source`` "R") or d8's of the same shape ("d8")."""
    return api(name) if source == "R" else schools(name)

"""What a warm kernel runs between reports (``d8lib.ops.kernels``), inside the kernel.

``warm_up`` does what every report does first in a new kernel (imports, a first chart)
and records the plotting settings that leaves; ``fresh`` gives the next report the state
of a kernel that just did the same: an empty namespace, no open figure, those settings,
execution counts from 1, and the run's folder as working directory. Only the standard
library is imported here.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

# What every report of a d8 run loads: the modules its second cell imports, then the
# readers of its tables (Parquet) and the writer of its Excel twin.
REPORT_MODULES = (
    "d8lib.reports.bundle",
    "d8lib.reports.sections",
    "d8lib.reports.display",
    "pyarrow.parquet",
    "openpyxl",
)

_settings: dict = {}  # matplotlib's rcParams after warm_up, restored before each report


def warm_up() -> None:
    """Import the reports' modules with the inline backend, as a report's first cells do,
    and draw a first chart as a report embeds one (matplotlib loads its fonts once)."""
    from IPython import get_ipython

    get_ipython().run_line_magic("matplotlib", "inline")
    for name in REPORT_MODULES:
        importlib.import_module(name)
    import matplotlib
    import matplotlib.pyplot as plt

    from d8lib.reports.formats import figure_html

    figure, axes = plt.subplots()
    axes.barh(["d8"], [1])
    figure_html(figure, "d8")
    _settings.update(matplotlib.rcParams.copy())
    # What the warm-up loaded stays for the kernel's life: the collector that ``fresh``
    # runs (IPython's reset) then walks only what reports made, 0.001 s instead of 0.1 s.
    gc.collect()
    gc.freeze()


def fresh(folder: str) -> None:
    """Before a report: forget everything the previous report defined or drew."""
    from IPython import get_ipython

    os.chdir(folder)  # first: the previous report's folder may be gone (a national run's worker)
    shell = get_ipython()
    shell.reset(new_session=False)
    shell.execution_count = 1
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib
        import matplotlib.pyplot as plt

        plt.close("all")
        matplotlib.rcParams.update(_settings)

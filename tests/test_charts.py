"""The district heatmap, drawn with matplotlib alone, against seaborn's ``heatmap`` with
the arguments the reports used before: the same picture, pixel for pixel. (Unit names
are written across, as seaborn writes names that would overlap written upwards.)"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest

from d8lib.reports import charts

matplotlib.use("agg")


def seaborns(grid: pd.DataFrame):
    import seaborn as sns

    figure, axis = charts._axes(0.3 * len(grid) + 1.4, charts.WIDTH + 0.8)
    sns.heatmap(
        grid,
        annot=True,
        fmt=".0f",
        cmap="cividis",
        vmin=0,
        vmax=max(100.0, float(np.nanmax(grid.to_numpy(dtype=float)))),
        cbar_kws={"label": "%"},
        ax=axis,
        linewidths=0.5,
        linecolor="white",
    )
    axis.set_xlabel("")
    axis.set_ylabel("")
    return figure


def pixels(figure) -> np.ndarray:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    buffer.seek(0)
    return plt.imread(buffer)


GRIDS = {
    "districts with blanks and a share past 100": pd.DataFrame(
        {"O1": [103.0, 45.0, np.nan], "O2": [100.0, 11.1, 0.0], "O12.3": [np.nan, 50.0, 92.4]},
        index=["Huyện Bát Xát", "Huyện Si Ma Cai", "Thành phố Lào Cai"],
    ),
    "long codes that overlap": pd.DataFrame(
        np.linspace(0, 100, 24).reshape(2, 12),
        index=["Huyện Bảo Yên", "Huyện Văn Bàn"],
        columns=[f"CT-{k}.long-name" for k in range(12)],
    ),
}


@pytest.mark.parametrize("name", list(GRIDS))
def test_the_heatmap_is_seaborns_picture(name):
    grid = GRIDS[name]
    assert np.array_equal(pixels(charts.heatmap(grid)), pixels(seaborns(grid)))


def test_no_heatmap_without_a_figure():
    assert charts.heatmap(pd.DataFrame({"O1": [np.nan]}, index=["A"])) is None

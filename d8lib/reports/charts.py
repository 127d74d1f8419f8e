"""The charts of a report: each a pure function from a published table to a matplotlib
figure, with the reader's labels. Tables come in the order they are to be drawn."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from d8lib.core.labels import label
from d8lib.reports.formats import PALETTE

# Labels come from data (unit names, ethnic groups): "$" in one is text, not mathtext.
matplotlib.rcParams["text.parse_math"] = False
# Charts are drawn about 460 px wide at 11 pt: on a phone (390 px) their text stays at
# least 11 px; on a wider screen or on paper they scale up to the text's width.
matplotlib.rcParams["font.size"] = 11
WIDTH = 4.8  # inches


def _axes(height: float, width: float = WIDTH):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def progress(table: pd.DataFrame, lang: str = "vi"):
    """Achieved as a share of each target (bars) and the share expected by now (marks);
    None where no target has a figure."""
    data = table.dropna(subset=["target"])
    if data.achieved.isna().all():
        return None
    share = data.achieved / data.target * 100
    figure, axis = _axes(0.32 * len(data) + 1.2)
    y = np.arange(len(data))
    axis.barh(y, share.clip(upper=150).fillna(0), color=PALETTE[0], label=label("charts.achieved", lang))
    axis.scatter(
        data.expected_share * 100,
        y,
        marker="|",
        s=250,
        color=PALETTE[3],
        label=label("charts.expected", lang),
        zorder=3,
    )
    axis.set_yticks(y, data.indicator)
    axis.invert_yaxis()
    axis.set_xlabel(label("charts.progress_x", lang))
    axis.axvline(100, color="#555555", linewidth=0.8)
    _legend_above(axis, ncol=2)
    axis.spines[["top", "right"]].set_visible(False)
    return figure


def heatmap(grid: pd.DataFrame):
    """Districts (rows) by indicators (columns): percent of target achieved, each cell
    annotated; None where no district has a figure. Drawn as seaborn's ``heatmap`` draws
    it, without importing seaborn (and scipy.stats with it) into every report's kernel."""
    if grid.isna().all().all():
        return None
    values = grid.to_numpy(dtype=float)
    figure, axis = _axes(0.3 * len(grid) + 1.4, WIDTH + 0.8)
    mesh = axis.pcolormesh(
        np.ma.masked_invalid(values),
        cmap="cividis",
        vmin=0,
        vmax=max(100.0, float(np.nanmax(values))),  # the scale covers every cell
        edgecolors="white",
        linewidth=0.5,
    )
    axis.set(xlim=(0, values.shape[1]), ylim=(0, values.shape[0]))
    axis.invert_yaxis()
    axis.spines[:].set_visible(False)
    figure.colorbar(mesh, ax=axis, label="%").outline.set_linewidth(0)
    axis.set_xticks(np.arange(values.shape[1]) + 0.5, [str(c) for c in grid.columns])
    axis.set_yticks(np.arange(len(grid)) + 0.5, [str(r) for r in grid.index], va="center")
    figure.draw_without_rendering()
    columns = axis.get_xticklabels()
    if _overlap(columns):
        for text in columns:
            text.set_rotation("vertical")
    lightness = _luminance(mesh.cmap(mesh.norm(values)))
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            colour = ".15" if lightness[row, column] > 0.408 else "w"  # seaborn's contrast rule
            axis.text(column + 0.5, row + 0.5, f"{value:.0f}", color=colour, ha="center", va="center")
    return figure


def _overlap(labels) -> bool:
    """Whether neighbouring tick labels overlap (seaborn then writes them upwards)."""
    boxes = [label.get_window_extent() for label in labels]
    return any(a.overlaps(b) for a, b in zip(boxes, boxes[1:]))


def _luminance(rgba: np.ndarray) -> np.ndarray:
    """The W3C relative luminance of colours (rows x columns x RGBA)."""
    rgb = rgba[..., :3]
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def outcomes(estimates: pd.DataFrame, codes: list[str], lang: str = "vi"):
    """Each outcome per survey round, with its confidence interval; None without one."""
    if estimates.estimate.isna().all() or not codes:
        return None
    figure, axis = _axes(0.45 * len(codes) + 1.2)
    rounds = list(dict.fromkeys(estimates["round"]))
    for k, name in enumerate(rounds):
        part = estimates[estimates["round"] == name].set_index("indicator").reindex(codes)
        y = np.arange(len(codes)) + (k - (len(rounds) - 1) / 2) * 0.22
        axis.errorbar(
            100 * part.estimate,
            y,
            xerr=[100 * (part.estimate - part.ci_low), 100 * (part.ci_high - part.estimate)],
            fmt="o",
            color=PALETTE[k],
            label=label(f"round.{name}", lang),
            capsize=2,
        )
    axis.set_yticks(np.arange(len(codes)), codes)
    axis.invert_yaxis()
    axis.set_xlabel(label("charts.percent", lang))
    _legend_above(axis, ncol=len(rounds))
    axis.spines[["top", "right"]].set_visible(False)
    return figure


def ranked(estimates: pd.DataFrame, names: pd.Series, lang: str = "vi"):
    """Areas in the order given (those that lag most first), each with its model-based
    estimate and interval (no map); None without a figure."""
    shown = estimates.dropna(subset=["estimate"])
    if not len(shown):
        return None
    figure, axis = _axes(0.3 * len(shown) + 1.0)
    y = np.arange(len(shown))
    axis.errorbar(
        100 * shown.estimate,
        y,
        xerr=[100 * (shown.estimate - shown.ci_low), 100 * (shown.ci_high - shown.estimate)],
        fmt="D",
        color=PALETTE[4],
        capsize=2,
    )
    axis.set_yticks(y, [names.get(u, u) for u in shown.unit])
    axis.invert_yaxis()
    axis.set_xlabel(label("charts.percent", lang))
    axis.spines[["top", "right"]].set_visible(False)
    return figure


def effects(effects: pd.DataFrame, lang: str = "vi"):
    """The difference from comparison villages per outcome (rows in drawing order); None
    without one."""
    if effects.estimate.isna().all():
        return None
    figure, axis = _axes(0.4 * len(effects) + 1.2)
    y = np.arange(len(effects))
    axis.errorbar(
        100 * effects.estimate,
        y,
        xerr=[100 * (effects.estimate - effects.ci_low), 100 * (effects.ci_high - effects.estimate)],
        fmt="s",
        color=PALETTE[2],
        capsize=3,
    )
    axis.axvline(0, color="#555555", linewidth=0.8)
    axis.set_yticks(y, effects.index)
    axis.invert_yaxis()
    axis.set_xlabel(label("charts.points", lang))
    axis.spines[["top", "right"]].set_visible(False)
    return figure


def groups(data: pd.DataFrame, codes: list[str], names: dict, lang: str = "vi"):
    """Headline outcomes by group (bars), groups named as ``names`` says; None without one."""
    if data.estimate.isna().all() or not codes:
        return None
    data = data[data.group.isin(data.group[data.estimate.notna()])]  # no slot for a group with nothing shown
    group_list = list(dict.fromkeys(data.group))
    figure, axis = _axes(3.6)
    width = 0.8 / max(len(group_list), 1)
    for k, g in enumerate(group_list):
        part = data[data.group == g].set_index("indicator").reindex(codes)
        axis.bar(
            np.arange(len(codes)) + k * width,
            100 * part.estimate,
            width,
            label=names.get(g, g),
            color=PALETTE[k % len(PALETTE)],
        )
    axis.set_xticks(np.arange(len(codes)) + 0.4 - width / 2, codes)
    axis.set_ylabel(label("charts.percent", lang))
    _legend_above(axis, ncol=3)
    axis.spines[["top", "right"]].set_visible(False)
    return figure


def completeness(summary: pd.DataFrame, lang: str = "vi"):
    """Reports per round: on time, late and missing (stacked bars); None where no report
    was expected."""
    if not summary[["on_time", "late", "missing"]].to_numpy(dtype=float).sum():
        return None
    from matplotlib.ticker import MaxNLocator

    figure, axis = _axes(0.4 * len(summary) + 1.3)
    y = np.arange(len(summary))
    left = np.zeros(len(summary))
    for column, colour in (("on_time", 2), ("late", 1), ("missing", 3)):
        values = summary[column].to_numpy(dtype=float)
        axis.barh(y, values, left=left, color=PALETTE[colour], label=label(f"columns.{column}", lang))
        left += values
    axis.set_yticks(y, summary.period)
    axis.invert_yaxis()
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # reports are counted
    _legend_above(axis, ncol=3)
    axis.spines[["top", "right"]].set_visible(False)
    return figure


def _legend_above(axis, ncol: int) -> None:
    """The legend above the plot, outside the data."""
    axis.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=ncol, frameon=False)


def provinces(shares: pd.DataFrame, lang: str = "vi"):
    """Provinces side by side (rows, named): the median percentage of their Appendix 01
    targets achieved, with the lowest and the highest as a line."""
    data = shares.agg(["median", "min", "max"], axis=1)
    figure, axis = _axes(0.45 * len(data) + 1.2)
    y = np.arange(len(data))
    axis.hlines(y, data["min"].clip(upper=150), data["max"].clip(upper=150), color="#999999", linewidth=1.5)
    axis.barh(y, data["median"].clip(upper=150), height=0.5, color=PALETTE[0], label=label("charts.median", lang))
    axis.set_yticks(y, data.index)
    axis.invert_yaxis()
    axis.set_xlabel(label("charts.progress_x", lang))
    axis.axvline(100, color="#555555", linewidth=0.8)
    _legend_above(axis, ncol=1)
    axis.spines[["top", "right"]].set_visible(False)
    return figure

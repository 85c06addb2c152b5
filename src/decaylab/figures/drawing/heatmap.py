"""Drawing the heatmaps: cells, frames, hatching, basin marks and one colour bar.

Only draws what ``decaylab.figures.heatmap.prepare`` computed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib import patheffects
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import Rectangle

from decaylab import metrics
from decaylab.figures.common import (
    DIVERGED_COLOUR,
    Prepared,
)
from decaylab.figures.drawing import axes_grid

BASIN_STYLES = {
    "parabola": {"marker": "D", "color": "white", "markeredgecolor": "black"},
    "edge": {
        "marker": "|",
        "color": "white",
        "markersize": 16,
        "mew": 2.5,
        "path_effects": [patheffects.withStroke(linewidth=4.5, foreground="black")],
    },
}
"""How a row's sub-grid λ* (white diamond) and collapse edge (white bar) are marked."""


def draw(prepared: Prepared, ax=None):
    """Each panel's cells with their values, hatched where a seed diverged, framed red where
    selected and dashed where not significantly different; the basin marks; one colour bar."""
    notes, cells, basin = prepared.notes, prepared.frames["cells"], prepared.frames["basin"]
    scale = notes["scale"]
    norm = (LogNorm if scale["log"] else Normalize)(scale["low"], scale["high"])
    n_rows, n_cols = notes["shape"]
    figure, axes = axes_grid(ax, n_rows, n_cols, figsize=notes["figsize"], layout="constrained")
    for (i, j), panel in cells.groupby(["i", "j"]):
        ax = axes[i, j]
        table = panel.pivot(index="r", columns="c", values="value")
        table.index = panel.drop_duplicates("r").sort_values("r")["y_tick"].to_numpy()
        table.columns = panel.drop_duplicates("c").sort_values("c")["x_tick"].to_numpy()
        sns.heatmap(
            table,
            ax=ax,
            cmap=scale["cmap"],
            norm=norm,
            annot=True,
            fmt=".3g",
            annot_kws={"fontsize": 7},
            cbar=False,
            linewidths=0.5,
            linecolor="white",
        )
        _draw_frames(ax, panel)
        if len(basin):
            _draw_basin(ax, basin[(basin["i"] == i) & (basin["j"] == j)])
        ax.tick_params(axis="both", labelsize=8, rotation=0)
        ax.set_xlabel(metrics.label(notes["x"]) if i == n_rows - 1 else "")
        ax.set_ylabel(metrics.label(notes["y"]) if j == 0 else "")
        ax.set_title(notes["titles"][i, j], fontsize=9)
    figure.colorbar(  # the label on two lines: it fits beside a heatmap of two rows
        plt.cm.ScalarMappable(norm=norm, cmap=scale["cmap"]),
        ax=axes,
        label=notes["colour_label"],
        shrink=0.9,
    )
    figure.suptitle(notes["title"], fontsize=9)
    return figure


def _draw_frames(ax, panel: pd.DataFrame) -> None:
    """Hatching of the diverged cells, dashed frames of the close ones (inset, so neighbours
    stay apart) and the red frame of the selected one."""
    for cell in panel[panel["diverged"]].itertuples():
        ax.add_patch(
            Rectangle(
                (cell.c, cell.r), 1, 1, facecolor=DIVERGED_COLOUR, hatch="xx", edgecolor="dimgrey"
            )
        )
        ax.text(cell.c + 0.5, cell.r + 0.5, "diverged", ha="center", va="center", fontsize=6)
    for cell in panel[panel["close"]].itertuples():
        ax.add_patch(
            Rectangle(
                (cell.c + 0.1, cell.r + 0.1),
                0.8,
                0.8,
                fill=False,
                edgecolor="black",
                lw=1.2,
                ls="--",
            )
        )
    for cell in panel[panel["selected"]].itertuples():
        ax.add_patch(Rectangle((cell.c, cell.r), 1, 1, fill=False, edgecolor="red", lw=3.5))


def _draw_basin(ax, basin: pd.DataFrame) -> None:
    """The prepared basin marks of one panel, and "(not converged)" on its unconverged rows."""
    for mark in basin[basin["mark"].isin(list(BASIN_STYLES))].itertuples():
        ax.plot(mark.c, mark.r, **BASIN_STYLES[mark.mark])
    for mark in basin[basin["mark"] == "unconverged"].itertuples():
        ax.text(0.05, mark.r + 0.42, "(not converged)", fontsize=6, color="white", va="bottom")

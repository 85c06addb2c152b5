"""A grid of heatmaps of a metric's mean over seeds, one per combination of kinds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib import patheffects
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import Rectangle

from decaylab import metrics, tables
from decaylab.figures.common import (
    AXES,
    DIVERGED_COLOUR,
    Prepared,
    colour_scale,
    require,
    varying,
)
from decaylab.figures.drawing import axes_grid
from decaylab.figures.heatmap_cells import basin_marks, cells_of, grid_edges, layout_of

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


def prepare(summary, x: str, y: str, metric: str | None = None, optima=None) -> Prepared:
    """Frames ``cells`` (per panel ``i, j`` and cell ``r, c``: its ticks, the mean of the
    metric, whether a seed diverged, whether it is selected or ``close``, not significantly
    different), ``basin`` (with ``optima`` and x the strength: each row's sub-grid λ* and
    collapse edge at their position in log λ between the cells' centres, ``converged``) and
    notes: the colour scale (``colour_scale``), panel titles, the selection's grid edges, the
    title."""
    primary = metrics.reported(summary, metric)
    column = f"{primary}_mean"
    for name in (x, y, column):
        require(name in summary, f"{name!r} is not a setting or metric of this experiment")
    layout = layout_of(summary, x, y)
    cells = cells_of(summary, x, y, column, layout)
    marked = optima is not None and x == "strength"
    basin = basin_marks(cells, optima, y, layout) if marked and y in optima else None
    return Prepared(
        "heatmap",
        {"cells": cells, "basin": basin if basin is not None else pd.DataFrame()},
        {
            "x": x,
            "y": y,
            "shape": (len(layout["rows"]), len(layout["cols"])),
            "figsize": layout["figsize"],
            "scale": colour_scale(summary[column].to_numpy(dtype=float), primary),
            "colour_label": f"{metrics.label(primary)}\n"
            f"({'higher' if metrics.higher_is_better(primary) else 'lower'} is better)",
            "titles": _titles(summary, x, y, layout),
            "title": _title(summary, primary, grid_edges(cells, x, y), marked),
        },
    )


def _titles(summary, x, y, layout) -> dict:
    """Per panel ``(i, j)``: its kinds, and the axes averaged over in it."""
    titles = {}
    for (i, j), mask in layout["masks"].items():
        averaged = [a for a in varying(summary[mask], AXES) if a not in (x, y, "seed")]
        title = " · ".join(str(v) for v in (layout["rows"][i], layout["cols"][j]) if v)
        titles[i, j] = title + (f"\n(mean over {', '.join(averaged)})" if averaged else "")
    return titles


def _title(summary, primary, edges, marked) -> str:
    """The figure's title: what the colours are, the frames and marks, the grid's edges."""
    n_seeds = int(summary["n_seeds"].max())
    if "selected" in summary and summary["selected"].astype(bool).any():
        frames = (
            f"red frame: selected by mean {metrics.label(summary['selected_by'].iloc[0])}; "
            "dashed: not significantly different from it (Welch's t-test over seeds, "
            f"p ≥ {tables.SIGNIFICANCE})"
        )
    else:
        frames = "no selection (the experiment selects nothing)"
    edge = f"\nselected on the grid's edge ({'; '.join(edges)}): extend that axis" if edges else ""
    if marked:
        edge += (
            "\nwhite ◆: sub-grid λ* (parabola); white |: collapse edge; "
            "'(not converged)': left out of the slopes"
        )
    return (
        f"mean {metrics.label(primary)} over {n_seeds} seed(s); hatched: a seed diverged\n"
        f"{frames}{edge}"
    )


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

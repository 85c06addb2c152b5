"""A grid of heatmaps of a metric's mean over seeds, one per combination of kinds.

What the figure shows, as tidy frames (no drawing: ``drawing.heatmap`` draws it)."""

from __future__ import annotations

import pandas as pd

from decaylab import metrics, tables
from decaylab.figures.common import (
    AXES,
    Prepared,
    colour_scale,
    require,
    varying,
)
from decaylab.figures.heatmap_cells import basin_marks, cells_of, grid_edges, layout_of


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

"""The heatmap's analysis, before anything is drawn: its panels, its cells and where each
row's basin of λ* lies between them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import metrics
from decaylab.figures.common import KINDS, tick, varying

WIDE = 8
"""A grid wider than this many x values puts each kind on a row of its own."""


def layout_of(summary: pd.DataFrame, x: str, y: str) -> dict:
    """The panels: one per combination of the kinds that vary, the first kind by row where
    there are two or more (or the grid is wide), the others joined by " · " by column.
    Returns ``rows``, ``cols`` (their values), ``row_key``, ``col_keys``, ``masks`` (per
    panel ``(i, j)``, the summary rows in it) and the ``figsize``."""
    facets = varying(summary, KINDS)
    n_x, n_y = summary[x].nunique(dropna=False), summary[y].nunique(dropna=False)
    stacked = len(facets) >= 2 or (len(facets) == 1 and n_x > WIDE)
    row_key = facets[0] if stacked else None
    col_keys = facets[1:] if stacked else facets
    rows = list(dict.fromkeys(summary[row_key])) if row_key else [None]
    col_values = (
        summary[col_keys].astype(str).agg(" · ".join, axis=1)
        if col_keys
        else pd.Series("", index=summary.index)
    )
    cols = list(dict.fromkeys(col_values))
    masks = {}
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            mask = col_values == col
            masks[i, j] = mask & (summary[row_key] == row) if row_key else mask
    figsize = (2.0 + 0.85 * n_x * len(cols), 1.6 + 0.6 * n_y * len(rows))
    return {
        "rows": rows,
        "cols": cols,
        "row_key": row_key,
        "col_keys": col_keys,
        "masks": masks,
        "figsize": figsize,
    }


def cells_of(summary: pd.DataFrame, x: str, y: str, column: str, layout: dict) -> pd.DataFrame:
    """One row per panel ``(i, j)`` and cell (``r`` from the top, the largest y first; ``c``
    from the left): its ``x``/``y`` values and ticks, the ``value`` (the mean of ``column``
    over the summary rows in it), ``diverged`` (any of them), ``selected`` and ``close``
    (``indistinguishable``)."""
    flags = summary.assign(
        selected=summary["selected"].astype(bool) if "selected" in summary else False,
        close=summary["indistinguishable"].fillna(False).astype(bool)
        if "indistinguishable" in summary
        else False,
        x_tick=summary[x].map(tick),
        y_tick=summary[y].map(tick),
        _order_y=summary[y].fillna(-1),
    )
    cells = []
    for (i, j), mask in layout["masks"].items():
        panel = flags[mask]
        y_order = list(dict.fromkeys(panel.sort_values("_order_y", ascending=False)["y_tick"]))
        x_order = list(dict.fromkeys(panel.sort_values(x)["x_tick"]))
        grouped = panel.groupby(["y_tick", "x_tick"])
        table = pd.DataFrame(
            {
                "value": grouped[column].mean(),
                "diverged": grouped["diverged"].max().astype(bool),
                "selected": grouped["selected"].any(),
                "close": grouped["close"].any(),
                x: grouped[x].first(),
                y: grouped[y].first(),
            }
        )
        full = pd.MultiIndex.from_product([y_order, x_order], names=["y_tick", "x_tick"])
        table = table.reindex(full).reset_index()
        table = table.fillna({"diverged": False, "selected": False, "close": False})
        table[["diverged", "selected", "close"]] = table[["diverged", "selected", "close"]].astype(
            bool
        )
        cells.append(
            table.assign(
                i=i,
                j=j,
                r=table["y_tick"].map(y_order.index),
                c=table["x_tick"].map(x_order.index),
            )
        )
    return pd.concat(cells, ignore_index=True)


def grid_edges(cells: pd.DataFrame, x: str, y: str) -> list[str]:
    """Where the selected cell lies on the grid's edge: "strength λ 0.01 is the smallest
    tried" for each axis with more than one value whose first or last value it is."""
    edges = []
    for _, panel in cells.groupby(["i", "j"], sort=True):
        n_c, n_r = panel["c"].max() + 1, panel["r"].max() + 1
        for cell in panel[panel["selected"]].itertuples():
            ends = ((x, cell.x_tick, cell.c, n_c, True), (y, cell.y_tick, cell.r, n_r, False))
            for axis, value, place, size, ascending in ends:  # rows run from the top down
                if size > 1 and place in (0, size - 1):
                    end = "smallest" if (place == 0) == ascending else "largest"
                    edges.append(f"{metrics.label(axis)} {value} is the {end} tried")
    return list(dict.fromkeys(edges))


def basin_marks(cells: pd.DataFrame, optima: pd.DataFrame, y: str, layout: dict) -> pd.DataFrame:
    """Per panel and heatmap row, the sub-grid λ* (``parabola``) and collapse edge (``edge``)
    of ``optima`` (``decaylab.optima.basin_table``) where not flagged, at their position in
    log λ between the centres of the cells, ``c = interp(log λ, log λ_k, k + ½)``, and an
    ``unconverged`` mark where the row's least-regularized runs did not converge."""
    marks = []
    for (i, j), panel in cells.groupby(["i", "j"], sort=True):
        mine = _optima_of_panel(optima, layout, i, j)
        strengths = np.array(sorted(panel["strength"].dropna().unique()), dtype=float)
        if len(strengths) < 2 or (strengths <= 0).any():
            continue
        centres = np.arange(len(strengths)) + 0.5
        y_order = list(panel.drop_duplicates("r").sort_values("r")["y_tick"])
        for _, row in mine.iterrows():
            if tick(row[y]) not in y_order:
                continue
            r = y_order.index(tick(row[y])) + 0.5
            for name in ("parabola", "edge"):
                value = row.get(name)
                if pd.notna(value) and value > 0 and not row.get(f"{name}_flagged", False):
                    c = np.interp(np.log(value), np.log(strengths), centres)
                    marks.append({"i": i, "j": j, "r": r, "c": c, "mark": name})
            if not row.get("converged", True):
                marks.append({"i": i, "j": j, "r": r, "c": np.nan, "mark": "unconverged"})
    return pd.DataFrame(marks, columns=["i", "j", "r", "c", "mark"])


def _optima_of_panel(optima: pd.DataFrame, layout: dict, i: int, j: int) -> pd.DataFrame:
    """The rows of ``optima`` of the kinds of panel ``(i, j)``."""
    values = {layout["row_key"]: layout["rows"][i]} if layout["row_key"] else {}
    values.update(zip(layout["col_keys"], str(layout["cols"][j]).split(" · "), strict=False))
    mine = optima
    for key, value in values.items():
        if key in mine:
            mine = mine[mine[key].astype(str) == str(value)]
    return mine

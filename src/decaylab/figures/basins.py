"""Each row's basin: the selection metric against λ, one line per value of x, the points of
each refinement round marked apart, and each row's judged vertex.

What the figure shows, as tidy frames (no drawing: ``drawing.basins`` draws it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import metrics
from decaylab import optima as basin_statistics
from decaylab.figures.common import Prepared, require


def prepare(runs, optima, x: str, select: str) -> Prepared:
    """Frames ``points`` (per panel — a group of the other settings that vary —, value of
    ``x``, λ, refinement ``round`` and seed: the runs that did not diverge, with the metric the
    experiment selects by, ``select``) and
    ``vertices`` (per panel and value of x: the judged vertex λ* of ``optima``, the seed-mean
    basin there, ``at``, and whether every gate ``admitted`` the row)."""
    metric = select
    require(metric in runs, f"the runs have no {metric}")
    groups = basin_statistics.groups_of(runs, x)
    sane = runs[~runs["diverged"].astype(bool) & np.isfinite(runs[metric])]
    sane = sane[sane["strength"] > 0]
    require(len(sane), f"every run diverged or has λ = 0: no basin of {metric} to draw")

    def panel(frame):
        return frame[groups].astype(str).agg(", ".join, axis=1) if groups else "all runs"

    points = sane.assign(panel=panel(sane), round=sane.get("round", 0))
    points = points[["panel", x, "strength", "round", "seed", metric]]
    means = points.groupby(["panel", x, "strength"], as_index=False)[metric].mean()
    admitted = optima.get("vertex_failed_gate", pd.Series("", index=optima.index)).fillna("") == ""
    vertices = optima.assign(panel=panel(optima), admitted=admitted)
    vertices = vertices[["panel", x, "vertex", "admitted"]].dropna()
    vertices["at"] = [_at(means, row, x, metric) for _, row in vertices.iterrows()]
    rounds = int(points["round"].max())
    seeds = points["seed"].nunique()
    return Prepared(
        "basins",
        {"points": points, "vertices": vertices},
        {
            "x": x,
            "metric": metric,
            "panels": sorted(points["panel"].unique()),
            "log_y": not metrics.higher_is_better(metric) and bool((points[metric] > 0).all()),
            "title": (
                f"Each row's basin: mean of {metrics.label(metric)} over {seeds} seeds (band ±1 "
                "s.d. over seeds alone); ▼ the judged vertex λ* (hollow: a gate left the row out)"
                + (
                    f"; circles the config's grid, other markers {_rounds(rounds)}"
                    if rounds
                    else ""
                )  # fmt: skip
            ),
        },
    )


def _at(means, vertex, x: str, metric: str) -> float:
    """The row's seed-mean basin at ``vertex`` (interpolated in log λ), where its marker sits."""
    row = means[(means["panel"] == vertex["panel"]) & (means[x] == vertex[x])]
    u = np.log(row["strength"].to_numpy())
    return float(np.interp(np.log(vertex["vertex"]), u, row[metric].to_numpy()))


def _rounds(rounds: int) -> str:
    return "refinement round 1" if rounds == 1 else f"refinement rounds 1–{rounds}"

"""The sampled points of a design in a plane, coloured by a metric's mean over seeds.

What the figure shows, as tidy frames (no drawing: ``drawing.scatter`` draws it)."""

from __future__ import annotations

import numpy as np

from decaylab import metrics
from decaylab.figures.common import KINDS, Prepared, colour_scale, require, varying


def prepare(summary, x: str, y: str, metric: str | None = None) -> Prepared:
    """Frame ``points``: the grid points with a finite mean of the metric (``value``), their
    ``panel`` (the kinds that vary, joined by " · "), ``selected`` and ``close`` (not
    significantly different). Notes: the colour scale (``common.colour_scale``) and which axes
    are logarithmic (positive values spanning more than a decade)."""
    primary = metrics.reported(summary, metric)
    column = f"{primary}_mean"
    for name in (x, y, column):
        require(name in summary, f"{name!r} is not a setting or metric of this experiment")
    frame = summary[np.isfinite(summary[column])]
    require(len(frame), "every point diverged: nothing to colour")
    facets = varying(summary, KINDS)
    close = frame["indistinguishable"] if "indistinguishable" in frame else False
    points = frame.assign(
        value=frame[column],
        panel=frame[facets].astype(str).agg(" · ".join, axis=1) if facets else "",
        selected=frame["selected"].astype(bool) if "selected" in frame else False,
        close=close.fillna(False).astype(bool) if "indistinguishable" in frame else False,
    )
    log = {}
    for name in (x, y):
        positive = summary[name][summary[name] > 0]
        log[name] = len(positive) == len(summary) and positive.max() > 10 * positive.min()
    return Prepared(
        "scatter",
        {"points": points},
        {
            "x": x,
            "y": y,
            "log": log,
            "scale": colour_scale(frame[column].to_numpy(float), primary),
            "colour_label": f"mean {metrics.label(primary)} over seeds",
            "title": f"{len(frame)} sampled points; red ring: selected on validation; black "
            "rings: not significantly different (Welch's t-test over seeds, p ≥ 0.05)",
        },
    )

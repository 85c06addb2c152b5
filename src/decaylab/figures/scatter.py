"""The sampled points of a design in a plane, coloured by a metric's mean over seeds."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm, Normalize

from decaylab import metrics
from decaylab.figures.common import KINDS, Prepared, colour_scale, require, varying
from decaylab.figures.drawing import axes_grid


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


def draw(prepared: Prepared, ax=None):
    """One panel per combination of kinds; the selected point ringed red, the close ones
    black; one colour bar."""
    notes, frame = prepared.notes, prepared.frames["points"]
    x, y, scale = notes["x"], notes["y"], notes["scale"]
    norm = (LogNorm if scale["log"] else Normalize)(scale["low"], scale["high"])
    panels = list(dict.fromkeys(frame["panel"]))
    figure, axes = axes_grid(
        ax, 1, len(panels), figsize=(1.5 + 4.2 * len(panels), 4.2), layout="constrained"
    )
    for ax, name in zip(axes[0], panels, strict=True):
        panel = frame[frame["panel"] == name]
        points = ax.scatter(
            panel[x], panel[y], c=panel["value"], cmap=scale["cmap"], norm=norm, s=60
        )
        close, chosen = panel[panel["close"]], panel[panel["selected"]]
        ax.scatter(close[x], close[y], s=160, facecolors="none", edgecolors="black", lw=1)
        ax.scatter(chosen[x], chosen[y], s=220, facecolors="none", edgecolors="red", lw=2)
        for axis, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
            if notes["log"][axis]:
                setter("log")
        ax.set_xlabel(metrics.label(x))
        ax.set_ylabel(metrics.label(y))
        ax.set_title(name, fontsize=10)
    figure.colorbar(points, ax=axes[0].tolist(), label=notes["colour_label"])
    figure.suptitle(notes["title"], fontsize=9)
    return figure

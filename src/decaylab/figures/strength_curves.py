"""The test metric and the weight norm against the regularization strength λ.

What the figure shows, as tidy frames (no drawing: ``drawing.strength_curves`` draws it)."""

from __future__ import annotations

import numpy as np

from decaylab import metrics, tables
from decaylab.figures.common import Prepared, require, seed_band, varying


def prepare(runs) -> Prepared:
    """Frames ``curves`` (the runs of the grid point chosen on validation per kind, λ and
    optimizer or schedule; ``tables.best_settings``) and ``unregularized`` (one row, where
    there are such runs: the means of the metric and the weight norm of the runs without
    regularization, drawn as references)."""
    metric = metrics.reported(runs)
    require("strength" in runs, "the experiment has no regularization strength")
    style = next(iter(varying(runs, ["optimizer", "schedule"])), None)
    keep = [c for c in ("experiment", "regularization", "strength", style) if c]
    chosen, settings, by = tables.best_settings(runs, keep)
    sane = chosen[~chosen["diverged"].astype(bool)]
    frame = sane[sane["strength"].notna() & np.isfinite(sane[metric])]
    require(len(frame), "every regularized run diverged: no test metric to draw against λ")
    unregularized = sane[sane["regularization"] == "none"]
    errorbar, band = seed_band(frame, settings, by)
    positive = frame.loc[frame["strength"] > 0, "strength"]
    return Prepared(
        "strength_curves",
        {
            "curves": frame,
            "unregularized": unregularized[[metric, "weight_norm"]].mean().to_frame().T.dropna(),
        },
        {
            "metric": metric,
            "style": style,
            "errorbar": errorbar,
            "title": f"({band})",
            # λ = 0 at the left edge of a symmetric-log axis, linear below the smallest λ > 0
            "linthresh": positive.min()
            if len(positive) and (frame["strength"] == 0).any()
            else None,
            "log_x": bool(len(positive)),
        },
    )

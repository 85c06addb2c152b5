"""The test metric and the weight norm against the regularization strength λ."""

from __future__ import annotations

import numpy as np
import seaborn as sns

from decaylab import metrics, tables
from decaylab.figures.common import Prepared, require, seed_band, varying
from decaylab.figures.drawing import axes_grid


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


def draw(prepared: Prepared, ax=None):
    """Left the test metric, right the weight norm, against λ, one colour per kind; the runs
    without regularization as a dashed line."""
    notes, frame = prepared.notes, prepared.frames["curves"]
    metric, unregularized = notes["metric"], prepared.frames["unregularized"]
    figure, axes = axes_grid(ax, 1, 2, figsize=(10.5, 4.0), layout="constrained")
    for ax, column in zip(axes[0], (metric, "weight_norm"), strict=True):
        sns.lineplot(
            data=frame,
            x="strength",
            y=column,
            hue="regularization",
            style=notes["style"],
            marker="o",
            errorbar=notes["errorbar"],
            ax=ax,
        )
        if len(unregularized):
            ax.axhline(
                unregularized[column].iloc[0], ls="--", color="black", lw=1, label="none (λ = 0)"
            )
            ax.legend(fontsize=8)
        if notes["linthresh"] is not None:
            ax.set_xscale("symlog", linthresh=notes["linthresh"])
            ax.set_xlim(left=0)
        elif notes["log_x"]:
            ax.set_xscale("log")
        ax.set_xlabel(metrics.label("strength"))
        ax.set_ylabel(metrics.label(column))
        if column != "test_accuracy":
            ax.set_yscale("log")
    axes[0, 0].set_title(f"{metrics.label(metric)} against λ", fontsize=10)
    axes[0, 1].set_title("weight norm against λ", fontsize=10)
    figure.suptitle(notes["title"], fontsize=9)
    return figure

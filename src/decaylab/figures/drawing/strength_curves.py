"""Drawing the strength curves: the test metric and the weight norm against λ.

Only draws what ``decaylab.figures.strength_curves.prepare`` computed."""

from __future__ import annotations

import seaborn as sns

from decaylab import metrics
from decaylab.figures.common import Prepared
from decaylab.figures.drawing import axes_grid


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

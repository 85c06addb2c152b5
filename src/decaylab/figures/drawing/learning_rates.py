"""Drawing the learning-rate schedules: one line per run, on a log axis.

Only draws what ``decaylab.figures.learning_rates.prepare`` computed."""

from __future__ import annotations

import seaborn as sns

from decaylab import metrics
from decaylab.figures.common import Prepared
from decaylab.figures.drawing import axes_grid


def draw(prepared: Prepared, ax=None):
    """One line per run, coloured by schedule, styled by decay rate, on a log axis."""
    figure, axes = axes_grid(ax, 1, 1, figsize=(6.4, 4.2))
    ax = axes[0, 0]
    sns.lineplot(
        data=prepared.frames["rates"],
        x="epoch",
        y="scheduled_learning_rate",
        hue="schedule",
        style=prepared.notes["style"],
        estimator=None,
        units="line",
        ax=ax,
    )
    ax.set_yscale("log")
    ax.set_ylim(*prepared.notes["ylim"])
    ax.set_ylabel(metrics.label("scheduled_learning_rate") + " (clipped at 10⁻⁴·max)")
    ax.set_title("learning-rate schedules")
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    return figure

"""Drawing the equilibrium: the norm and the effective rate against η·λ.

Only draws what ``decaylab.figures.equilibrium.prepare`` computed."""

from __future__ import annotations

import seaborn as sns
from matplotlib.colors import LogNorm

from decaylab import metrics
from decaylab.figures.common import Prepared
from decaylab.figures.drawing import axes_grid

PANELS = {
    "weight_norm": "weight norm ‖w‖ at the end",
    "effective_learning_rate": "effective learning rate η/‖w‖²",
}
"""The two panels: the column drawn against η0·λ, and its axis label."""


def draw(prepared: Prepared, ax=None):
    """Left the final norm, right the effective rate, against η0·λ on log-log axes, one
    colour per η0 (mean and ±1 s.d. over seeds); dotted: η0·λ·T = 1."""
    notes, frame = prepared.notes, prepared.frames["runs"]
    figure, axes = axes_grid(ax, 1, 2, figsize=(10.5, 4.2), layout="constrained")
    for ax, (column, name) in zip(axes[0], PANELS.items(), strict=True):
        sns.lineplot(
            data=frame,
            x="lr_times_strength",
            y=column,
            hue="learning_rate",
            palette="viridis",
            hue_norm=LogNorm(),
            marker="o",
            errorbar=notes["errorbar"],
            ax=ax,
        )
        ax.axvline(1 / notes["updates"], ls=":", color="grey")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"η0·λ (dotted: η0·λ·T = 1 for the T = {notes['updates']} updates)")
        ax.set_ylabel(name)
        ax.legend(title=metrics.label("learning_rate"), fontsize=8)
    axes[0, 0].set_title("the norm depends on η and λ apart (‖w‖ ∝ (η/λ)^¼ in theory)", fontsize=9)
    axes[0, 1].set_title(notes["slope_title"], fontsize=9)
    figure.suptitle(notes["title"], fontsize=9)
    return figure

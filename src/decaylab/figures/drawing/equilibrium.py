"""Drawing the equilibrium: the norm, the effective rate and the angular update against η·λ.

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
    "angular_update": "angular update per step θ (rad, r.m.s.)",
}
"""The panels: the column drawn against η0·λ, and its axis label (the angular update only where
the engine recorded it: a scale-invariant network)."""


def draw(prepared: Prepared, ax=None):
    """The final norm, the effective rate and the angular update against η0·λ on log-log axes,
    one colour per η0 (mean and ±1 s.d. over seeds); dashed: θ = √(2η0λ); dotted: D = the
    equilibrium's least cumulative decay for a constant rate over T updates."""
    notes, frame = prepared.notes, prepared.frames["runs"]
    panels = {k: v for k, v in PANELS.items() if k != "angular_update" or notes["angular"]}
    figure, axes = axes_grid(ax, 1, len(panels), figsize=(5.2 * len(panels), 4.4),
                             layout="constrained")  # fmt: skip
    for ax, (column, name) in zip(axes[0], panels.items(), strict=True):
        sns.lineplot(data=frame, x="lr_times_strength", y=column, hue="learning_rate",
                     palette="viridis", hue_norm=LogNorm(), errorbar=notes["errorbar"],
                     ax=ax)  # fmt: skip
        sns.scatterplot(data=frame[frame["equilibrated"]], x="lr_times_strength", y=column,
                        hue="learning_rate", palette="viridis", hue_norm=LogNorm(), s=18,
                        legend=False, ax=ax)  # fmt: skip
        ax.axvline(notes["decay"] / notes["updates"], ls=":", color="grey")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"η0·λ (dotted: η0·λ·T = {notes['decay']:g}, T = {notes['updates']})")
        ax.set_ylabel(name)
        ax.legend(title=metrics.label("learning_rate"), fontsize=8)
    axes[0, 0].set_title("the norm depends on η and λ apart (‖w‖ ∝ (η/λ)^¼ in theory)", fontsize=9)
    claimed_ax = axes[0, list(panels).index(notes["claimed"])]
    claimed_ax.set_title(notes["slope_title"], fontsize=9)
    if notes["angular"]:
        angular_ax = axes[0, list(panels).index("angular_update")]
        theory = frame.drop_duplicates("lr_times_strength").sort_values("lr_times_strength")
        angular_ax.plot(theory["lr_times_strength"], theory["angular_theory"], ls="--",
                        color="black", lw=1, label="√(2η0λ)")  # fmt: skip
        angular_ax.legend(fontsize=8)
    figure.suptitle(notes["title"], fontsize=9)
    return figure

"""The weight norm's equilibrium: the norm and the effective learning rate against η·λ."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm

from decaylab import equilibrium, metrics
from decaylab.figures.common import Prepared, require, seed_band
from decaylab.figures.drawing import axes_grid

PANELS = {
    "weight_norm": "weight norm ‖w‖ at the end",
    "effective_learning_rate": "effective learning rate η/‖w‖²",
}
"""The two panels: the column drawn against η0·λ, and its axis label."""


def prepare(runs, equilibrium_slope) -> Prepared:
    """Frame ``runs``: every run with a positive strength that did not diverge, with η0·λ
    (``lr_times_strength``), η0/‖w‖² (``effective_learning_rate``) and whether it reached the
    equilibrium (``equilibrium.equilibrated``: η0·λ·T ≥ 1). Notes: T, the most updates of a
    run, and the slope of ``equilibrium_slope`` (``equilibrium.slope``'s table, the number
    its claim tests: fitted over the equilibrated runs only)."""
    sane = runs[~runs["diverged"].astype(bool) & (runs["strength"] > 0)]
    require(len(sane), "no run with a positive strength, or every such run diverged")
    frame = sane.assign(
        lr_times_strength=sane["learning_rate"] * sane["strength"],
        effective_learning_rate=sane["learning_rate"] / sane["weight_norm"] ** 2,
        equilibrated=equilibrium.equilibrated(sane),
    )
    errorbar, band = seed_band(frame, [], "validation_loss")
    (row,) = equilibrium_slope.itertuples()
    return Prepared(
        "equilibrium",
        {"runs": frame},
        {
            "updates": (frame["epochs"] * frame["updates_per_epoch"]).max(),
            "slope": row.slope,
            "fitted": row.n_fitted,
            "errorbar": errorbar,
            "title": f"({band})",
        },
    )


def slope_words(notes: dict) -> str:
    """The right panel's title: the table's slope, or why there is none."""
    if pd.isna(notes["slope"]):
        return "… the effective rate on η·λ alone: no slope (no run has η0·λ·T ≥ 1)"
    return (
        f"… the effective rate on η·λ alone: slope {notes['slope']:.2f} over the "
        f"{notes['fitted']} η0·λ with η0·λ·T ≥ 1 (theory ½)"
    )


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
    axes[0, 1].set_title(slope_words(notes), fontsize=9)
    figure.suptitle(notes["title"], fontsize=9)
    return figure

"""The weight norm's equilibrium: the norm and the effective learning rate against η·λ.

What the figure shows, as tidy frames (no drawing: ``drawing.equilibrium`` draws it)."""

from __future__ import annotations

import pandas as pd

from decaylab import equilibrium
from decaylab.figures.common import Prepared, require, seed_band


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
            "slope_title": slope_words(row.slope, row.n_fitted),
            "errorbar": errorbar,
            "title": f"({band})",
        },
    )


def slope_words(slope: float, fitted: int) -> str:
    """The right panel's title: the table's slope over its ``fitted`` values of η0·λ, or why
    there is none."""
    if pd.isna(slope):
        return "… the effective rate on η·λ alone: no slope (no run has η0·λ·T ≥ 1)"
    return (
        f"… the effective rate on η·λ alone: slope {slope:.2f} over the "
        f"{fitted} η0·λ with η0·λ·T ≥ 1 (theory ½)"
    )

"""The weight norm's equilibrium: the norm, the effective learning rate and the angular update per
step against η·λ.

What the figure shows, as tidy frames (no drawing: ``drawing.equilibrium`` draws it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import equilibrium
from decaylab.figures.common import Prepared, require, seed_band


def prepare(runs, equilibrium_slope) -> Prepared:
    """Frame ``runs``: every run with a positive strength that did not diverge, with η0·λ
    (``lr_times_strength``), η0/‖w‖² (``effective_learning_rate``), the angular update and its
    theory √(2η0λ) (``angular_theory``), and whether it is at equilibrium
    (``equilibrium.equilibrated`` under the gates the table was computed with). Notes: T, the
    most updates of a run, the least D, and the titles from ``equilibrium_slope``
    (``equilibrium.slope``'s table: the numbers its claim tests)."""
    sane = runs[~runs["diverged"].astype(bool) & (runs["strength"] > 0)]
    require(len(sane), "no run with a positive strength, or every such run diverged")
    gates = equilibrium.gates_of(equilibrium_slope)
    rate = sane["learning_rate"] * sane["strength"]
    frame = sane.assign(
        lr_times_strength=rate,
        effective_learning_rate=sane["learning_rate"] / sane["weight_norm"] ** 2,
        angular_theory=np.sqrt(2 * rate),
        equilibrated=equilibrium.equilibrated(sane, gates),
    )
    errorbar, band = seed_band(frame, [], "validation_loss")
    rows = {row.get("quantity", "slope"): row for _, row in equilibrium_slope.iterrows()}
    angular = "angular_update" in frame and bool(frame["angular_update"].notna().any())
    return Prepared(
        "equilibrium",
        {"runs": frame},
        {
            "updates": (frame["epochs"] * frame["updates_per_epoch"]).max(),
            "decay": gates.decay,
            "slope": rows["slope"]["slope"],
            "fitted": rows["slope"]["n_fitted"],
            "slope_title": slope_words(rows["slope"], rows.get("constant")),
            "angular": angular,
            "claimed": "angular_update"
            if rows["slope"]["statistic"] == "angular_update"
            else "effective_learning_rate",
            "errorbar": errorbar,
            "title": f"({band}; filled markers: runs at equilibrium, D ≥ {gates.decay:g}"
            + (f", ‖w‖ drift < {gates.drift:g}" if gates.drift is not None else "")
            + ")",
        },
    )


def slope_words(slope: pd.Series, constant: pd.Series | None) -> str:
    """The title of the panel the claim tests: the table's slope (and constant) over its fitted
    values of η0·λ, or why there is none."""
    what = (
        "the angular update on η·λ"
        if slope["statistic"] == "angular_update"
        else "the effective rate on η·λ"
    )
    if pd.isna(slope["slope"]):
        return f"{what}: no slope (no run at equilibrium)"
    text = f"{what}: slope {slope['slope']:.2f} over {slope['n_fitted']} η0·λ (theory ½)"
    if constant is not None and pd.notna(constant["slope"]):
        text += f",\nlog(θ/√(2ηλ)) = {constant['slope']:+.3f} (theory 0)"
    return text

"""Drawing the forest plot of the claims. Only draws what ``decaylab.figures.forest.prepare``
computed."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from decaylab.figures.common import Prepared
from decaylab.figures.drawing import axes_grid

VERDICT_COLOURS = {
    "agrees": "#1b7837",
    "disagrees": "#c51b7d",
    "inconclusive": "#7f7f7f",
    "estimate not valid": "#000000",
}
BAND_COLOURS = {"prediction": "#a6dba0", "rival": "#f1b6da"}


def draw(prepared: Prepared, ax=None):
    """One row per claim: the prediction's band (green) and the rivals' (pink), the 95 %
    interval (thin) and the 90 % interval (thick) around the estimate, coloured by verdict; an
    estimate whose identity check failed hollow."""
    claims, bands = prepared.frames["claims"], prepared.frames["bands"]
    height = 0.9 + 0.42 * len(claims)
    figure, axes = axes_grid(ax, 1, 1, figsize=(9.5, height), layout="constrained")
    ax = axes[0, 0]
    for _, band in bands.iterrows():
        ax.fill_betweenx(
            [band["y"] - 0.38, band["y"] + 0.38],
            band["low"],
            band["high"],
            color=BAND_COLOURS[band["role"]],
            alpha=0.8,
            lw=0,
        )
    for _, row in claims.iterrows():
        _draw_claim(ax, row)
    ax.set_yticks(claims["y"], claims["label"])
    ax.set_ylim(len(claims) - 0.5, -0.5)
    finite = claims[["ci95_low", "ci95_high", "slope"]].to_numpy(float)
    reach = np.concatenate([finite[np.isfinite(finite)], bands[["low", "high"]].to_numpy().ravel()])
    ax.set_xlim(reach.min() - 0.2, reach.max() + 0.2)
    ax.set_xlabel(
        "slope of ln λ* on ln x; equilibrium: slope of ln θ (or ln η/‖w‖²) on ln(η·λ), "
        "constant ln(θ/√(2ηλ))",
        fontsize=9,
    )
    seeds = ", ".join(str(s) for s in prepared.notes["seeds"])
    ax.set_title(
        f"Each claim's estimate with its 90 % (thick) and 95 % (thin) t intervals over {seeds} "
        "seeds\nagrees: the 90 % interval inside the prediction's band; disagrees: the 95 % one "
        "outside it",
        fontsize=9,
    )
    figure.legend(handles=_legend_handles(), fontsize=8, loc="outside lower center", ncol=3)
    return figure


def _draw_claim(ax, row) -> None:
    """One claim's intervals, estimate and verdict (a note where it has no estimate)."""
    colour = VERDICT_COLOURS.get(row["verdict"], "#7f7f7f")
    if not np.isfinite(row["slope"]):
        box = {"boxstyle": "round", "fc": "white", "ec": colour}
        ax.annotate("no estimate", (row["prediction"], row["y"]), ha="center", va="center",
                    fontsize=8, style="italic", bbox=box)  # fmt: skip
    ax.hlines(row["y"], row["ci95_low"], row["ci95_high"], color=colour, lw=1.2)
    ax.hlines(row["y"], row["ci90_low"], row["ci90_high"], color=colour, lw=4)
    hollow = row["verdict"] == "estimate not valid"
    ax.plot(row["slope"], row["y"], "o", ms=7, mec=colour, mfc="white" if hollow else colour)
    ax.annotate(row["verdict"], (1.01, row["y"]), xycoords=("axes fraction", "data"),
                va="center", fontsize=9, color=colour)  # fmt: skip


def _legend_handles() -> list:
    """The bands' and the verdicts' legend entries."""
    return [
        Patch(color=BAND_COLOURS["prediction"], label="prediction ± margin"),
        Patch(color=BAND_COLOURS["rival"], label="rival ± margin"),
        *(Line2D([], [], color=c, marker="o", lw=3, label=v) for v, c in VERDICT_COLOURS.items()),
    ]

"""Drawing where λ* lies: each statistic against a setting, with its slope lines.

Only draws what ``decaylab.figures.optimum.prepare`` computed."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from decaylab import metrics
from decaylab.figures.common import DIVERGED_COLOUR, Prepared, tick
from decaylab.figures.drawing import axes_grid
from decaylab.figures.optimum import PANELS


def draw(prepared: Prepared, ax=None):
    """One panel per statistic (and row per unit), log-log, one colour per group."""
    notes, frames = prepared.notes, prepared.frames
    units, names = notes["units"], list(PANELS)
    figure, axes = axes_grid(
        ax,
        len(units),
        len(names),
        figsize=(4.3 * len(names), 4.6 * len(units)),
        sharex=True,
        sharey="row",
        layout="constrained",
    )
    n_groups = int(frames["legend"]["g"].max()) + 1
    palette = sns.color_palette(n_colors=max(n_groups, 1))
    for (unit, name), ax in zip(itertools.product(units, names), axes.flat, strict=True):
        for g, colour in zip(range(n_groups), palette, strict=False):
            _draw_group(ax, frames, {"unit": unit, "statistic": name, "g": g}, colour)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(notes["ticks"], labels=[tick(t) for t in notes["ticks"]], fontsize=8)
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel(metrics.label(notes["x"]))
        if unit:
            ax.set_title("… as the timescale τ = 1/(η·λ·M)", fontsize=9)
        else:
            ax.set_title(PANELS[name], fontsize=9)
            ax.legend(fontsize=7, title="slope of log λ [95 % t CI]", title_fontsize=7, loc="best")
    axes[0, 0].set_ylabel("λ (per statistic)")
    if len(units) > 1:
        axes[1, 0].set_ylabel("τ in epochs (per statistic)")
    figure.suptitle(notes["title"], fontsize=8, wrap=True)
    return figure


def _draw_group(ax, frames: dict, where: dict, colour) -> None:
    """One group's points (filled, hollow where flagged, grey where unconverged), the thin
    line through them, its fitted and predicted lines and its legend entry."""

    def mine(frame):
        keep = np.ones(len(frame), dtype=bool)
        for key, value in where.items():
            keep &= (frame[key] == value).to_numpy()
        return frame[keep]

    points, lines = mine(frames["points"]), mine(frames["lines"])
    ax.plot(points["x"], points["value"], color=colour, lw=0.8, alpha=0.4)
    for state, style in (
        ("fitted", {"color": colour}),
        ("flagged", {"facecolors": "white", "edgecolors": colour}),
        ("unconverged", {"color": DIVERGED_COLOUR}),
    ):
        shown = points[points["state"] == state]
        ax.scatter(shown["x"], shown["value"], zorder=3, **style)
    for line, style in (
        ("fitted", {"ls": "--"}),
        ("predicted", {"ls": ":", "lw": 2, "alpha": 0.7}),
    ):
        drawn = lines[lines["line"] == line]
        if len(drawn):
            ax.plot(drawn["x"], drawn["value"], color=colour, **style)
    (label,) = mine(frames["legend"])["label"]
    ax.plot([], [], color=colour, marker="o", ls="--", label=label)

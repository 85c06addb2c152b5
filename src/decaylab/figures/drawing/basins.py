"""Drawing each row's basin against λ, the refinement rounds' points marked apart.

Only draws what ``decaylab.figures.basins.prepare`` computed."""

from __future__ import annotations

import seaborn as sns

from decaylab import metrics
from decaylab.figures.common import Prepared, tick
from decaylab.figures.drawing import axes_grid

MARKERS = ["o", "^", "s", "D", "v", "P"]
"""The marker of each refinement round (0: the config's grid)."""


def draw(prepared: Prepared, ax=None):
    """One panel per group, log λ, one colour per value of x, one marker per round."""
    notes, points = prepared.notes, prepared.frames["points"]
    vertices, x, metric = prepared.frames["vertices"], notes["x"], notes["metric"]
    panels = notes["panels"]
    figure, axes = axes_grid(ax, 1, len(panels), figsize=(4.6 * len(panels), 4.2),
                             sharey=True, layout="constrained")  # fmt: skip
    values = sorted(points[x].unique())
    palette = dict(zip(values, sns.color_palette("viridis", len(values)), strict=True))
    for name, ax in zip(panels, axes[0], strict=True):
        mine = points[points["panel"] == name]
        sns.lineplot(data=mine, x="strength", y=metric, hue=x, palette=palette, errorbar="sd",
                     legend=False, ax=ax, lw=1)  # fmt: skip
        means = mine.groupby([x, "strength", "round"], as_index=False)[metric].mean()
        for (value, round_), shown in means.groupby([x, "round"]):
            ax.scatter(shown["strength"], shown[metric], color=palette[value], s=22, zorder=3,
                       marker=MARKERS[int(round_) % len(MARKERS)],
                       edgecolors="black" if round_ else "none", linewidths=0.6)  # fmt: skip
        for _, vertex in vertices[vertices["panel"] == name].iterrows():
            fill = palette[vertex[x]] if vertex["admitted"] else "white"
            ax.scatter(vertex["vertex"], vertex["at"], marker="v", s=60, zorder=4,
                       facecolors=fill, edgecolors=palette[vertex[x]], linewidths=1.2)  # fmt: skip
        ax.set_xscale("log")
        if notes["log_y"]:
            ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(metrics.label("strength"))
        ax.set_ylabel(metrics.label(metric))
    for value in values:
        axes[0, -1].plot([], [], color=palette[value], label=f"{metrics.label(x)} {tick(value)}")
    for round_ in sorted(points["round"].unique()):
        label = "the config's grid" if not round_ else f"refinement round {round_}"
        axes[0, -1].scatter([], [], marker=MARKERS[int(round_) % len(MARKERS)], color="grey",
                            label=label)  # fmt: skip
    axes[0, -1].legend(fontsize=7, loc="best")
    figure.suptitle(notes["title"], fontsize=8, wrap=True)
    return figure

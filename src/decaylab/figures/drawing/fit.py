"""Drawing the fit: the data, the fitted lines, the closed-form references, the true curve.

Only draws what ``decaylab.figures.fit.prepare`` computed."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm

from decaylab import metrics
from decaylab.figures.common import Prepared, varying
from decaylab.figures.drawing import axes_grid


def draw(prepared: Prepared, ax=None):
    """The data (train filled, test hollow), one line per fitted setting coloured by the
    prepared hue, the references dashed (grey least squares, crimson ridge) and the true
    curve black and dotted; one panel per regularization kind where they differ."""
    notes, frames = prepared.notes, prepared.frames
    hue, panel, panels = notes["hue"], notes["panel"], notes["panels"]
    figure, axes = axes_grid(
        ax, 1, len(panels), figsize=(5.2 * len(panels), 5.4), sharey=True, layout="constrained"
    )
    for ax, value in zip(axes[0], panels, strict=True):
        lines = frames["lines"]
        _draw_lines(ax, lines if value is None else lines[lines[panel] == value], hue, panel)
        points = frames["points"]
        train, test = points[points["part"] == "train"], points[points["part"] == "test"]
        ax.scatter(train["x"], train["y"], s=18, color="black", label="train", zorder=3)
        ax.scatter(test["x"], test["y"], s=22, facecolors="none", edgecolors="black", label="test")
        references = frames["references"]
        mine = references[
            references["panel"].isna() if value is None else references["panel"] == value
        ]
        for (strength, curve), dashes in zip(
            mine.groupby("strength", sort=True), ("--", "-.", ":"), strict=False
        ):
            ax.plot(
                curve["x"],
                curve["y"],
                dashes,
                lw=1.4,
                color="crimson" if strength else "grey",
                label=f"ridge optimum, λ = {strength:g}" if strength else "least squares",
            )
        if len(frames["truth"]):  # black, unlike any palette's fitted line
            truth = frames["truth"]
            ax.plot(
                truth["x"], truth["y"], color="black", lw=2.2, ls=(0, (1, 1)), label="true curve"
            )
        ax.set_ylim(*notes["ylim"])
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        if value is not None:
            ax.set_title(f"{panel} = {value}")
        ax.legend(  # below the data, never over it; titled by what the colours are
            fontsize=7,
            title=f"fitted, first seed, by {metrics.label(hue)}" if hue else "fitted, first seed",
            title_fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            ncol=3,
        )
    return figure


def _draw_lines(ax, subset: pd.DataFrame, hue, panel) -> None:
    """The fitted lines of one panel, coloured by ``hue`` (C0 and "n/a" where the panel's
    kind has no such setting)."""
    if hue is not None and subset[hue].isna().all():
        for _, line in subset.groupby("line"):
            ax.plot(line["x"], line["prediction"], color="C0", lw=1.5)
        ax.plot([], [], color="C0", label=f"{hue}: n/a")
        subset = subset.iloc[:0]
    sns.lineplot(
        data=subset,
        x="x",
        y="prediction",
        hue=hue,
        style="regularization" if not panel and varying(subset, ["regularization"]) else None,
        units="line",  # one line per fitted run: never a band (it would pool settings)
        estimator=None,
        palette=("viridis" if hue in ("strength", "learning_rate", "decay_rate") else "deep")
        if hue
        else None,
        hue_norm=LogNorm() if hue == "strength" and (subset[hue] > 0).all() else None,
        ax=ax,
        legend="full",
    )

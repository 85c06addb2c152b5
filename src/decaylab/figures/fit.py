"""The data with the fitted lines of the first seed and the closed-form references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm

from decaylab import data, evaluate, metrics, models
from decaylab.figures.common import Prepared, require, varying
from decaylab.figures.drawing import axes_grid

COUPLED = ("l2", "decoupled_lr")
"""The kinds whose optimum is the ridge solution (weight decay coupled to the gradient)."""


def prepare(runs, curves, split, model=None, source=None) -> Prepared:
    """Frames ``lines`` (the fitted curves of the first seed, diverged runs left out),
    ``points`` (train and test data), ``references`` (for linear and polynomial ``model``s
    the closed-form least-squares fit, ``λ = 0``, and the ridge optima ``evaluate.ridge``
    of the two smallest coupled strengths, on the model's features; per panel) and ``truth``
    (the true curve of the synthetic ``source``, ``data.truth``)."""
    first_seed = curves[curves["seed"] == curves["seed"].min()]
    diverged = runs.loc[runs["diverged"].astype(bool), ["shard", "run"]]
    first_seed = first_seed.merge(diverged, how="left", indicator=True)
    first_seed = first_seed[first_seed["_merge"] == "left_only"].drop(columns="_merge")
    require(len(first_seed), "every run of the first seed diverged: there is no fit to draw")
    first_seed["line"] = first_seed["shard"] + "/" + first_seed["run"].astype(str)
    hue = next(
        iter(varying(first_seed, ["strength", "schedule", "learning_rate", "decay_rate"])), None
    )
    panel = (
        next(iter(varying(first_seed, ["regularization"])), None)
        if hue != "regularization"
        else None
    )
    panels = sorted(first_seed[panel].unique()) if panel else [None]
    train, test = split.train, split.test
    points = pd.concat(
        [
            pd.DataFrame({"x": part.x[:, 0], "y": part.y.ravel(), "part": name})
            for name, part in (("train", train), ("test", test))
        ],
        ignore_index=True,
    )
    grid = np.linspace(points["x"].min(), points["x"].max(), 400)
    references = _references(runs, train, grid, model, panels)
    truth = data.truth(**source) if source else None
    low, high = points["y"].min(), points["y"].max()
    return Prepared(
        "fit",
        {
            "lines": first_seed,
            "points": points,
            "references": references,
            "truth": pd.DataFrame({"x": grid, "y": truth(grid) if truth else np.nan}).dropna(),
        },
        {
            "hue": hue,
            "panel": panel,
            "panels": panels,
            "ylim": (low - 0.25 * (high - low), high + 0.25 * (high - low)),
        },
    )


def _references(runs, train, grid, model, panels) -> pd.DataFrame:
    """Per panel (a regularization kind, or None), the least squares and the ridge optima of
    the two smallest positive coupled strengths (in the panels of coupled kinds) on ``grid``."""
    spec = models.spec_of(model) if model is not None else None
    if spec is None or spec.kind not in ("linear", "polynomial"):
        return pd.DataFrame(columns=["panel", "strength", "x", "y"])
    coupled = runs["regularization"].isin(COUPLED)
    strengths = sorted(set(runs.loc[coupled, "strength"].dropna()) - {0.0})
    features = models.features(spec, train.x)
    curves = []
    for panel in panels:
        penalized = panel is None or panel in COUPLED
        for strength in [0.0, *(strengths[:2] if penalized else [])]:
            w, b = evaluate.ridge(features, train.y, strength)
            y = models.features(spec, grid[:, None]) @ w + b
            curves.append(
                pd.DataFrame({"panel": panel, "strength": strength, "x": grid, "y": y.ravel()})
            )
    return pd.concat(curves, ignore_index=True)


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
        units="line" if hue is None else None,
        estimator=None if hue is None else "mean",
        palette=("viridis" if hue in ("strength", "learning_rate", "decay_rate") else "deep")
        if hue
        else None,
        hue_norm=LogNorm() if hue == "strength" and (subset[hue] > 0).all() else None,
        ax=ax,
        legend="full",
        seed=0,  # the band's bootstrap: the same figure every time
    )

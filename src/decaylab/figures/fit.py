"""The data with the fitted lines of the first seed and the closed-form references.

What the figure shows, as tidy frames (no drawing: ``drawing.fit`` draws it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import data, evaluate, models
from decaylab.figures.common import Prepared, require, varying

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

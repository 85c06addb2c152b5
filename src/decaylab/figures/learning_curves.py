"""A metric against epochs, the mean over seeds with a band over seeds alone.

What the figure shows, as tidy frames (no drawing: ``drawing.learning_curves`` draws it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import metrics, tables
from decaylab.figures.common import AXES, KINDS, Prepared, require, seed_band, varying


def prepare(history, runs, hue: str | None = None, metric: str | None = None) -> Prepared:
    """Frame ``curves``: the history of the runs of one grid point per value of ``hue`` (and
    panel per kind, ``col``); any other setting is not averaged but chosen per line, on
    validation (``tables.best_settings``), and named in the title."""
    metric = metric or ("test_loss" if history["test_loss"].notna().any() else "train_loss")
    hue = hue or next(iter(varying(history, KINDS + AXES)), None)
    col = next(iter(c for c in varying(history, KINDS) if c != hue), None)
    require(
        metric in history and history[metric].notna().any(),
        f"{metrics.label(metric)} is not measured in this experiment (NaN for its task)",
    )
    chosen, settings, by = tables.best_settings(runs, [c for c in ("experiment", hue, col) if c])
    frame = history.merge(chosen[["shard", "run"]], on=["shard", "run"])
    frame = frame[np.isfinite(frame[metric])]
    require(len(frame), f"no finite {metrics.label(metric)} was recorded (every run diverged?)")
    errorbar, band = seed_band(frame, settings, by)
    lines = [c for c in (hue, col) if c]
    values = [
        ", ".join(str(row[c]) for c in lines)
        + ": "
        + ", ".join(
            f"{metrics.label(s).split()[-1]} {row[s]:g}" for s in settings if pd.notna(row[s])
        )
        for _, row in chosen.drop_duplicates(lines + settings).iterrows()
    ]
    chosen_values = f"\n{'; '.join(values)}" if settings and lines else ""
    return Prepared(
        "learning_curves",
        {"curves": frame},
        {
            "metric": metric,
            "hue": hue,
            "col": col,
            "columns": list(dict.fromkeys(frame[col])) if col else [None],
            "errorbar": errorbar,
            "title": f"{metrics.label(metric)} during training\n({band}){chosen_values}",
        },
    )

"""A metric against epochs, the mean over seeds with a band over seeds alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from decaylab import metrics, tables
from decaylab.figures.common import AXES, KINDS, Prepared, require, seed_band, varying
from decaylab.figures.drawing import axes_grid


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


def draw(prepared: Prepared, ax=None):
    """One panel per ``col`` value (shared, logarithmic y), one line per ``hue`` value with
    its band; the legend beside the last panel."""
    notes, frame = prepared.notes, prepared.frames["curves"]
    hue, col, columns = notes["hue"], notes["col"], notes["columns"]
    figure, axes = axes_grid(
        ax,
        1,
        len(columns),
        figsize=(4.5 * len(columns) + 1.5, 3.6),
        sharey=True,
        layout="constrained",
    )
    palette = "viridis" if hue in AXES else "deep"
    numeric = hue is not None and pd.api.types.is_numeric_dtype(frame[hue])
    order = list(dict.fromkeys(frame[hue])) if hue and not numeric else None
    norm = (frame[hue].min(), frame[hue].max()) if numeric else None
    for i, (ax, value) in enumerate(zip(axes[0], columns, strict=True)):
        sns.lineplot(
            data=frame if col is None else frame[frame[col] == value],
            x="epoch",
            y=notes["metric"],
            hue=hue,
            hue_order=order,
            hue_norm=norm,
            errorbar=notes["errorbar"],
            palette=palette if hue else None,
            legend=i == len(columns) - 1,
            ax=ax,
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metrics.label(notes["metric"]) if i == 0 else "")
        if col is not None:
            ax.set_title(f"{col} = {value}")
    for ax in axes[0]:  # after every line: seaborn averages in log space on a log axis
        ax.set_yscale("log")
    if hue:
        sns.move_legend(
            axes[0, -1], "upper left", bbox_to_anchor=(1.02, 1), title=hue, frameon=False
        )
    sns.despine(figure)  # as seaborn's facet grids
    figure.suptitle(notes["title"], fontsize=10)
    return figure

"""Drawing the learning curves: a metric against epochs, one panel per kind.

Only draws what ``decaylab.figures.learning_curves.prepare`` computed."""

from __future__ import annotations

import pandas as pd
import seaborn as sns

from decaylab import metrics
from decaylab.figures.common import AXES, Prepared
from decaylab.figures.drawing import axes_grid


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

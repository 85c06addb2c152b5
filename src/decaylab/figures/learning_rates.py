"""The learning rate every schedule actually used, against epochs."""

from __future__ import annotations

import seaborn as sns

from decaylab import metrics
from decaylab.figures.common import Prepared, varying
from decaylab.figures.drawing import axes_grid


def prepare(history) -> Prepared:
    """Frame ``rates``: the scheduled learning rate of every run of the first seed per epoch,
    one ``line`` per run; a missing decay rate (a constant schedule) as 0 where decay rates
    vary (they are the line style then). Notes: the y range, clipped at 10⁻⁴ of the top."""
    frame = history[history["seed"] == history["seed"].min()]
    frame = frame.assign(line=frame["shard"] + "/" + frame["run"].astype(str))
    style = "decay_rate" if varying(frame, ["decay_rate"]) else None
    top = frame["scheduled_learning_rate"].max()
    bottom = max(frame["scheduled_learning_rate"].min(), top * 1e-4) / 1.5
    return Prepared(
        "learning_rates",
        {"rates": frame.fillna({"decay_rate": 0.0}) if style else frame},
        {"style": style, "ylim": (bottom, top * 1.5)},
    )


def draw(prepared: Prepared, ax=None):
    """One line per run, coloured by schedule, styled by decay rate, on a log axis."""
    figure, axes = axes_grid(ax, 1, 1, figsize=(6.4, 4.2))
    ax = axes[0, 0]
    sns.lineplot(
        data=prepared.frames["rates"],
        x="epoch",
        y="scheduled_learning_rate",
        hue="schedule",
        style=prepared.notes["style"],
        estimator=None,
        units="line",
        ax=ax,
    )
    ax.set_yscale("log")
    ax.set_ylim(*prepared.notes["ylim"])
    ax.set_ylabel(metrics.label("scheduled_learning_rate") + " (clipped at 10⁻⁴·max)")
    ax.set_title("learning-rate schedules")
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    return figure

"""The learning rate every schedule actually used, against epochs.

What the figure shows, as tidy frames (no drawing: ``drawing.learning_rates`` draws it)."""

from __future__ import annotations

from decaylab.figures.common import Prepared, varying


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

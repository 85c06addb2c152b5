"""What every figure kind shares: the prepared data's shape, the reasons not to draw, the
theme, and the small helpers of preparing (which settings vary, how a tick reads)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from decaylab import metrics

KINDS = ["optimizer", "schedule", "regularization"]
"""The settings that name a kind of training (one colour, style or panel each)."""
AXES = ["learning_rate", "decay_rate", "strength", "momentum", "beta_1", "seed"]
"""The numeric settings of a grid."""
DIVERGED_COLOUR = "#bdbdbd"
"""What a diverged or unconverged point is painted."""


@dataclass(frozen=True)
class Prepared:
    """What a figure draws, computed: tidy ``frames`` (one row per thing drawn) and ``notes``
    (titles, labels, scales and other single values), and the figure kind's ``name``."""

    name: str
    frames: dict[str, pd.DataFrame]
    notes: dict = field(default_factory=dict)


class NothingToDraw(Exception):
    """The tables hold nothing this figure can show (the reason is its message)."""


def require(condition, reason: str) -> None:
    """Raise :class:`NothingToDraw` with ``reason`` unless ``condition``."""
    if not condition:
        raise NothingToDraw(reason)


def varying(frame: pd.DataFrame, columns) -> list[str]:
    """The columns of ``columns`` that take more than one value in ``frame``."""
    return [c for c in columns if c in frame and frame[c].nunique(dropna=True) > 1]


def tick(value) -> str:
    """How a setting's value reads on an axis: ``%g``, and "—" where a kind does not use it."""
    return "—" if pd.isna(value) else f"{value:g}"


def seed_band(frame: pd.DataFrame, settings: list[str], by: str) -> tuple[str | None, str]:
    """Seaborn's ``errorbar`` for a band over seeds alone, and the caption's words for it and
    for the settings chosen per line (``tables.best_settings``)."""
    n_seeds = frame["seed"].nunique()
    band = f"band: ±1 s.d. over {n_seeds} seeds" if n_seeds > 1 else "one seed: no band"
    if settings:
        band += (
            f"; per line, the best {', '.join(metrics.label(s) for s in settings)} "
            f"by {metrics.label(by)}"
        )
    return ("sd" if n_seeds > 1 else None), band


def colour_scale(values: np.ndarray, metric: str) -> dict:
    """The colour scale of a metric's values: ``low``, ``high``, whether it is logarithmic
    (a lower-is-better metric with positive values spread out) and the colour map, reversed
    for a lower-is-better metric so that better is always the bright end. With one value (every
    accuracy 1) the scale ends on it and spans 0.01 on the worse side."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    higher = metrics.higher_is_better(metric)
    spread = high > low
    if not spread:
        low, high = (high - 0.01, high) if higher else (low, low + 0.01)
    return {
        "low": low,
        "high": high,
        "log": not higher and low > 0 and spread,
        "cmap": "viridis" if higher else "viridis_r",
        "better": "higher" if higher else "lower",
    }

"""The weight norm's equilibrium in a scale-invariant network, as a slope with an interval.

A network whose every trained kernel is followed by normalization (no γ, β; a fixed head) is
invariant to each kernel's scale. Under SGD with an L2 penalty its norm settles where decay and
gradient growth balance, ‖w‖⁴ ≈ η·‖g̃‖²/(2λ) (van Laarhoven, 2017; Li & Arora, 2020), so the
effective learning rate η/‖w‖² ≈ √(2ηλ)/‖g̃‖ depends on η·λ alone, with slope ½ in log-log.
The norm relaxes at a rate of order η·λ per update, so only runs with η·λ·T ≥ 1 over their T
updates have reached it. :func:`slope` fits ``log(η/‖w‖²) = a + b·log(η·λ)`` over those runs
and gives ``b`` a 95 % percentile bootstrap interval over seeds (a resample draws seeds with
replacement and keeps all runs of the drawn seeds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import tables


def equilibrated(runs: pd.DataFrame) -> pd.Series:
    """Whether each run of ``runs`` (a runs table) trained long enough to reach the equilibrium:
    η0·λ·T ≥ 1 over its T = epochs × updates per epoch, not diverged, with a positive strength and
    norm."""
    updates = runs["epochs"] * runs["updates_per_epoch"]
    return (
        ~runs["diverged"].astype(bool)
        & (runs["strength"] > 0)
        & (runs["weight_norm"] > 0)
        & (runs["learning_rate"] * runs["strength"] * updates >= 1)
    )


def _fit(log_rate: np.ndarray, log_effective: np.ndarray) -> float:
    if len(np.unique(log_rate)) < 2:
        return np.nan
    return float(np.polyfit(log_rate, log_effective, 1)[0])


def slope(runs: pd.DataFrame, resamples: int = tables.RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """The slope of log(η/‖w‖²) on log(η·λ) over the equilibrated ``runs``, with its interval over
    seeds (:func:`decaylab.tables.seed_interval` with ``resamples`` and ``seed``), as one row shaped
    like :func:`decaylab.optima.slopes`' (``statistic`` ``effective_rate``; ``n_x`` the distinct
    η·λ, ``n_unconverged`` those left out)."""
    rate = runs["learning_rate"] * runs["strength"]
    keep = equilibrated(runs)
    frame = pd.DataFrame(
        {
            "seed": runs["seed"],
            "log_rate": np.log(rate.where(rate > 0)),
            "log_effective": np.log(runs["learning_rate"] / runs["weight_norm"] ** 2),
        }
    )[keep]
    seeds = np.sort(frame["seed"].unique())
    per_seed = [frame[frame["seed"] == s] for s in seeds]

    def resampled(drawn):
        chosen = pd.concat([per_seed[i] for i in drawn])
        return _fit(chosen["log_rate"].to_numpy(), chosen["log_effective"].to_numpy())

    value = _fit(frame["log_rate"].to_numpy(), frame["log_effective"].to_numpy())
    low = high = np.nan
    if np.isfinite(value):
        low, high = tables.seed_interval(len(seeds), resampled, resamples, seed)
    distinct = rate[rate > 0].round(12).nunique()
    fitted = rate[keep].round(12).nunique()
    return pd.DataFrame(
        [
            {
                "x": "lr_times_strength",
                "statistic": "effective_rate",
                "slope": value,
                "ci95_low": low,
                "ci95_high": high,
                "n_x": distinct,
                "n_fitted": fitted,
                "n_unconverged": distinct - fitted,
                "n_flagged": 0,
                "n_seeds": len(seeds),
                "selected_by": "",
            }
        ]
    )

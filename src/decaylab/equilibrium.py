"""The weight norm's equilibrium in a scale-invariant network, as a slope with an interval.

A network whose every trained kernel is followed by normalization (no γ, β; a fixed head) is
invariant to each kernel's scale. Under SGD with an L2 penalty its norm settles where decay and
gradient growth balance, ‖w‖⁴ ≈ η·‖g̃‖²/(2λ) (van Laarhoven, 2017; Li & Arora, 2020), so the
effective learning rate η/‖w‖² ≈ √(2ηλ)/‖g̃‖ depends on η·λ alone, with slope ½ in log-log.
The norm relaxes at a rate of order η·λ per update, so only runs with η·λ·T ≥ 1 over their T
updates have reached it. :func:`slope` fits ``log(η/‖w‖²) = a + b·log(η·λ)`` over those runs
per seed and gives the mean of the seeds' slopes its Student-t intervals over seeds
(:func:`decaylab.inference.summarize`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import inference


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


def slope(runs: pd.DataFrame) -> pd.DataFrame:
    """The slope of log(η/‖w‖²) on log(η·λ) over the equilibrated ``runs``, fitted per seed, with
    the t intervals of the seeds' mean (:func:`decaylab.inference.summarize`), as one row shaped
    like :func:`decaylab.inference.slopes_table`'s (``statistic`` ``effective_rate``; ``n_x`` the
    distinct η·λ, ``n_fitted`` those of equilibrated runs)."""
    rate = runs["learning_rate"] * runs["strength"]
    keep = equilibrated(runs)
    frame = pd.DataFrame(
        {
            "seed": runs["seed"],
            "log_rate": np.log(rate.where(rate > 0)),
            "log_effective": np.log(runs["learning_rate"] / runs["weight_norm"] ** 2),
        }
    )[keep]
    seed_slopes = np.array(
        [_fit(f["log_rate"].to_numpy(), f["log_effective"].to_numpy()) for _, f in
         frame.groupby("seed")]
    )  # fmt: skip
    return pd.DataFrame(
        [
            {
                "x": "lr_times_strength",
                "statistic": "effective_rate",
                **inference.summarize(seed_slopes),
                "seed_slopes": " ".join(f"{s:.4f}" for s in seed_slopes),
                "n_x": rate[rate > 0].round(12).nunique(),
                "n_fitted": rate[keep].round(12).nunique(),
                "n_seeds": runs["seed"].nunique(),
                "selected_by": "",
            }
        ]
    )


def measure(runs: pd.DataFrame):
    """A function of the gates giving the :class:`decaylab.inference.Measured` equilibrium slope
    of ``runs`` (no gate of the λ* estimator applies: the equilibration filter is its own)."""
    found = slope(runs)

    def measured(gates) -> inference.Measured:
        return inference.Measured([], found, found.iloc[:0])

    return measured

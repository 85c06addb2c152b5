"""The weight norm's equilibrium in a scale-invariant network: the diagnostics that show a run is
there, and the statistics its claims judge.

A network whose every trained kernel is followed by normalization (no γ, β; a fixed head) is
invariant to each kernel's scale. Under SGD with an L2 penalty its norm settles where decay and
gradient growth balance, ‖w‖⁴ ≈ η·‖g̃‖²/(2λ) (van Laarhoven, 2017; Li & Arora, 2020), so the
effective learning rate η/‖w‖² ≈ √(2ηλ)/‖g̃‖ depends on η·λ alone, with slope ½ in log-log, and
the angle a kernel turns per step is θ ≈ √(2ηλ), with no free constant (Kosson et al., 2024).

Whether a run is there is measured, not assumed: its cumulative decay ``D = Σ_t d_t``
(:func:`cumulative_decay`), and over the last fifth of its constant-rate phase the relative drift
of ‖w‖ and the root mean square angular update (:func:`window_diagnostics`, from the history the
engine records). :func:`slope` fits the statistics over the :func:`equilibrated` runs per seed and
gives the mean of the seeds' values its Student-t intervals over seeds
(:func:`decaylab.inference.summarize`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import inference
from decaylab.shard import HISTORY_COLUMNS

WINDOW_FRACTION = 0.2
"""The diagnostics' window: the last fifth of a run's constant-rate phase."""

PER_STEP_DECAY = {"l2": "lr", "decoupled_lr": "lr", "decoupled": "lr_over_lr0"}
"""What multiplies λ in a regularization kind's decay per step: ``η_t`` or ``η_t/η0``."""


def cumulative_decay(runs: pd.DataFrame, optimizer: str, training_steps: int, steps_per_epoch: int,
                     schedule_options: dict) -> np.ndarray:  # fmt: skip
    """Per run, the cumulative decay ``D = Σ_{t<T} d_t`` over its T = ``training_steps`` updates,
    from its own schedule (``decaylab.schedules``, summed in float64): ``d_t = η_t·λ`` for
    ``decoupled_lr`` and for ``l2`` under SGD, ``η_t·λ/(1 − μ)`` for ``l2`` under momentum μ (the
    heavy ball's steady step), ``(η_t/η0)·λ`` for ``decoupled``; 0 without regularization.
    NaN for ``l1`` and for ``l2`` under Adam, RMSprop or Adagrad: their penalty's gradient is
    rescaled per coordinate by the gradients' statistics, so no decay per step exists apart from
    the training itself (Loshchilov & Hutter, 2019; the equilibrium tests leave such rows out).
    ``runs`` has the runs table's ``schedule``, ``regularization`` and per-run columns;
    ``optimizer`` is the shard's, ``steps_per_epoch`` and ``schedule_options`` what the schedules
    read."""
    from decaylab.schedules import SCHEDULES  # loads Keras: only a training job calls this

    steps = np.arange(training_steps, dtype="float64")[:, None]
    hp_columns = [c for c in runs if c not in ("schedule", "regularization", "seed", "strength")]
    summed = np.full(len(runs), np.nan)
    for kind, group in runs.groupby("schedule"):
        unique = group[hp_columns].drop_duplicates()
        hp = {c: unique[c].to_numpy("float64")[None, :] for c in hp_columns}
        rates = np.asarray(SCHEDULES[kind](steps, steps_per_epoch, hp, schedule_options))
        sums = pd.DataFrame(unique).assign(_sum=rates.sum(axis=0))
        summed[group.index] = group.merge(sums, on=hp_columns, how="left")["_sum"].to_numpy()
    strength = runs["strength"].to_numpy("float64") if "strength" in runs else np.zeros(len(runs))
    lr0 = runs["learning_rate"].to_numpy("float64")
    kinds = runs["regularization"].to_numpy()
    decay = np.where(kinds == "decoupled", summed / lr0, summed) * strength
    if optimizer == "momentum":
        decay = np.where(kinds == "l2", decay / (1.0 - runs["momentum"].to_numpy("float64")), decay)
    unsupported = (kinds == "l1") | ((kinds == "l2") & (optimizer not in ("sgd", "momentum")))
    return np.where(kinds == "none", 0.0, np.where(unsupported, np.nan, decay))


def constant_phase(runs: pd.DataFrame, training_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per run of ``runs``, the steps ``[start, end)`` in which its rate is η0: the whole
    ``training_steps`` for ``constant``, after the warm-up and before the anneal for ``wsd``; NaN
    for other schedules (their rate never stays put)."""
    start = np.full(len(runs), np.nan)
    end = np.full(len(runs), np.nan)
    constant = (runs["schedule"] == "constant").to_numpy()
    start[constant], end[constant] = 0.0, training_steps
    wsd = (runs["schedule"] == "wsd").to_numpy()
    if wsd.any():
        horizon = runs["decay_steps"].to_numpy("float64")
        start[wsd] = runs["warmup_steps"].to_numpy("float64")[wsd]
        end[wsd] = np.minimum(
            horizon * (1.0 - runs["anneal_fraction"].to_numpy("float64")), training_steps
        )[wsd]
    return start, end


def window_diagnostics(records: np.ndarray, start: np.ndarray, end: np.ndarray,
                       steps_per_epoch: int) -> dict[str, np.ndarray]:  # fmt: skip
    """Per run, over the last :data:`WINDOW_FRACTION` of its constant phase ``[start, end)``
    (steps; ``steps_per_epoch`` updates an epoch), from its history ``records``
    ``(R, K, len(HISTORY_COLUMNS))``, using the records
    whose whole interval since the previous record lies in the window:

    - ``norm_drift``: the relative change of ‖w‖ across the window, ``|b|·Δe / mean ‖w‖`` with b
      the least-squares slope of ‖w‖ on the epoch over the window's records (its first and all
      inside) and Δe the window's epochs: a line, not two end points, so that the stochastic
      fluctuation of a settled norm is not read as drift (two records: their difference);
    - ``angular_update`` ``sqrt(Σ_j n_j·θ̄²_j / Σ_j n_j)``: the root mean square angle per step
      (the records' ``angular_update``, weighted by their epochs n_j).

    NaN where the window holds no whole interval (a history stride too coarse for it)."""
    column = {name: i for i, name in enumerate(HISTORY_COLUMNS)}
    epochs = records[:, :, column["epoch"]]
    norms = records[:, :, column["weight_norm"]]
    angles = records[:, :, column["angular_update"]]
    window_start = (end - WINDOW_FRACTION * (end - start)) / steps_per_epoch
    window_end = end / steps_per_epoch
    previous = np.vstack([np.full((1, epochs.shape[1]), np.nan), epochs[:-1]])
    inside = (previous >= window_start - 1e-9) & (epochs <= window_end + 1e-9)
    drift = np.full(len(start), np.nan)
    angular = np.full(len(start), np.nan)
    for k in np.flatnonzero(inside.any(axis=0)):
        rows = np.flatnonzero(inside[:, k])
        points = np.concatenate([[rows[0] - 1], rows])  # the window's first record, then the rest
        trend = np.polyfit(epochs[points, k], norms[points, k], 1)[0]
        span = epochs[rows[-1], k] - epochs[rows[0] - 1, k]
        drift[k] = abs(trend) * span / np.mean(norms[points, k])
        weights = epochs[rows, k] - previous[rows, k]
        angular[k] = np.sqrt(np.sum(weights * angles[rows, k] ** 2) / np.sum(weights))
    return {"norm_drift": drift, "angular_update": angular}


DEFAULT_DECAY = 1.0
"""The least cumulative decay D of an equilibrated run where the gates name none."""


def equilibrated(runs: pd.DataFrame, gates: inference.Gates | None = None) -> pd.Series:
    """Whether each run of ``runs`` (a runs table) is at its norm's equilibrium: not diverged,
    with a positive strength and norm, a cumulative decay ``D ≥ gates.decay`` (default
    :data:`DEFAULT_DECAY`; the norm relaxes as ``exp(−4D)`` near its equilibrium under SGD) and,
    where the gates give ``drift``, a norm that moved by less than that fraction over the last
    fifth of the constant-rate phase."""
    decay = DEFAULT_DECAY if gates is None or gates.decay is None else gates.decay
    keep = (
        ~runs["diverged"].astype(bool)
        & (runs["strength"] > 0)
        & (runs["weight_norm"] > 0)
        & (runs["cumulative_decay"] >= decay)
    )
    if gates is not None and gates.drift is not None:
        keep &= runs["norm_drift"] < gates.drift
    return keep


def _fit(log_rate: np.ndarray, values: np.ndarray) -> float:
    if len(np.unique(log_rate)) < 2:
        return np.nan
    return float(np.polyfit(log_rate, values, 1)[0])


def _per_seed(frame: pd.DataFrame, statistic) -> np.ndarray:
    return np.array([statistic(f) for _, f in frame.groupby("seed")])


def _row(runs, keep, rate, statistic: str, seed_values: np.ndarray, **extra) -> dict:
    return {
        **extra,
        "x": "lr_times_strength",
        "statistic": statistic,
        **inference.summarize(seed_values),
        "seed_slopes": " ".join(f"{s:.4f}" for s in seed_values),
        "n_x": rate[rate > 0].round(12).nunique(),
        "n_fitted": rate[keep].round(12).nunique(),
        "n_seeds": runs["seed"].nunique(),
        "selected_by": "",
    }


def gates_of(table: pd.DataFrame) -> inference.Gates:
    """The equilibrium's gates a :func:`slope` table was computed under (its ``min_decay`` and
    ``max_drift``), so that a figure marks the very runs the statistic used."""
    row = table.iloc[0]
    drift = row.get("max_drift", np.nan)
    return inference.Gates(decay=float(row["min_decay"]),
                           drift=None if pd.isna(drift) else float(drift))  # fmt: skip


def slope(runs: pd.DataFrame, gates: inference.Gates | None = None,
          statistic: str = "effective_rate") -> pd.DataFrame:  # fmt: skip
    """The ``statistic`` over the :func:`equilibrated` ``runs`` (under ``gates``), per seed, with
    the t intervals of
    the seeds' mean (:func:`decaylab.inference.summarize`), shaped like
    :func:`decaylab.inference.slopes_table`'s rows (``n_x`` the distinct η·λ, ``n_fitted`` those
    of equilibrated runs):

    - ``effective_rate``: one row, the slope of ``log(η/‖w‖²)`` on ``log(η·λ)`` (theory ½);
    - ``angular_update``: the parameter-free prediction, two rows by ``quantity``: ``slope``, of
      ``log θ`` on ``log(η·λ)`` (theory ½), and ``constant``, the mean of ``log(θ/√(2ηλ))``
      (theory 0), θ the root mean square angular update per step (``angular_update``). At
      equilibrium under SGD with g ⊥ w and a settled norm, ``w' = (1 − ηλ)w − ηg`` and
      ``‖w'‖ = ‖w‖`` give ``cos θ = 1 − ηλ``, so ``θ = √(2ηλ)·(1 + ηλ/12 + …)`` (Kosson et al.,
      2024).
    """
    table = _statistic_rows(runs, gates, statistic)
    return table.assign(
        min_decay=DEFAULT_DECAY if gates is None or gates.decay is None else gates.decay,
        max_drift=np.nan if gates is None or gates.drift is None else gates.drift,
    )


def _statistic_rows(runs: pd.DataFrame, gates, statistic: str) -> pd.DataFrame:
    rate = runs["learning_rate"] * runs["strength"]
    keep = equilibrated(runs, gates)
    log_rate = np.log(rate.where(rate > 0))
    if statistic == "effective_rate":
        frame = pd.DataFrame(
            {
                "seed": runs["seed"],
                "u": log_rate,
                "v": np.log(runs["learning_rate"] / runs["weight_norm"] ** 2),
            }
        )[keep]
        values = _per_seed(frame, lambda f: _fit(f["u"].to_numpy(), f["v"].to_numpy()))
        return pd.DataFrame([_row(runs, keep, rate, statistic, values)])
    angle = np.log(runs["angular_update"].where(runs["angular_update"] > 0))
    keep = keep & angle.notna()
    frame = pd.DataFrame({"seed": runs["seed"], "u": log_rate, "v": angle})[keep]
    slopes = _per_seed(frame, lambda f: _fit(f["u"].to_numpy(), f["v"].to_numpy()))
    ratios = _per_seed(frame, lambda f: float(np.mean(f["v"] - 0.5 * np.log(2 * np.exp(f["u"])))))
    return pd.DataFrame([
        _row(runs, keep, rate, statistic, slopes, quantity="slope"),
        _row(runs, keep, rate, statistic, ratios, quantity="constant"),
    ])  # fmt: skip


def measure(runs: pd.DataFrame, statistic: str = "effective_rate"):
    """A function of the gates giving the :class:`decaylab.inference.Measured` ``statistic`` of
    ``runs`` (:func:`slope`; of the λ* estimator's gates only ``decay`` and ``drift`` apply).
    With ``angular_update`` the groups are the two quantities; the effective rate's slope is the
    slope's exploratory companion, and the constant per η0 the constant's (the theory says θ
    depends on η·λ alone, so they should agree)."""

    def measured(gates) -> inference.Measured:
        found = slope(runs, gates, statistic)
        if statistic == "effective_rate":
            return inference.Measured([], found, found.iloc[:0])
        companion = [slope(runs, gates).assign(quantity="slope")]
        for lr, at in runs.groupby("learning_rate"):  # θ should not depend on η0 at fixed η·λ
            row = slope(at, gates, statistic).set_index("quantity").loc[["constant"]]
            companion.append(row.reset_index().assign(statistic=f"constant at η0 = {lr:g}"))
        return inference.Measured(["quantity"], found, pd.concat(companion, ignore_index=True))

    return measured

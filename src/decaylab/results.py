"""A trained shard's results: one row per run, a tidy history, the learned parameters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from decaylab.dataset import CLASSIFICATION
from decaylab.shard import HISTORY_COLUMNS, Runs, ShardConfig


@dataclass
class ShardResult:
    """One row per run (settings and final metrics), a tidy history, the learned parameters
    (with batch normalization's running statistics, as :func:`models.init_params` lays them)."""

    runs: pd.DataFrame
    history: pd.DataFrame
    params: list[dict[str, np.ndarray]]
    device: str
    seconds: float
    resumed_from: int = 0
    provenance: dict | None = None  # filled by decaylab.runner.train
    records: np.ndarray | None = None  # (records, K, len(HISTORY_COLUMNS)), as trained
    diverged_epoch: np.ndarray | None = None  # (K,), −1 for a run that did not diverge
    reused: int = 0  # runs taken from the store of trained runs (decaylab.runner.train)


def runs_table(
    config: ShardConfig,
    resolved: Runs,
    params,
    final,
    diverged_epoch,
    task: str,
    has_validation: bool,
) -> pd.DataFrame:
    """One row per run: its per-run values and the metrics of the last record ``final``
    ``(K, len(HISTORY_COLUMNS))``; ``task`` and ``has_validation`` decide the metric columns."""
    metrics_ = dict(zip(HISTORY_COLUMNS, final.T, strict=True))
    table = pd.DataFrame(
        {
            "schedule": resolved.schedule,
            "regularization": resolved.regularization,
            **{name: values for name, values in resolved.hp.items()},
        }
    )
    table["seed"] = table["seed"].astype(int)
    table["train_loss"] = metrics_["train_loss"]
    parts = ["validation", "test"] if has_validation else ["test"]
    for part in parts:
        table[f"{part}_loss"] = metrics_[f"{part}_loss"]
        if task == CLASSIFICATION:
            table[f"{part}_accuracy"] = metrics_[f"{part}_accuracy"]
        else:
            table[f"{part}_mse"] = metrics_[f"{part}_loss"]
    table["weight_norm"] = metrics_["weight_norm"]
    table["final_learning_rate"] = metrics_["scheduled_learning_rate"]
    table["diverged"] = diverged_epoch >= 0
    table["diverged_epoch"] = pd.array(
        [int(e) if e >= 0 else None for e in diverged_epoch], dtype="Int64"
    )
    if config.model.kind == "linear" and params[0]["kernel"].shape[1:] == (1, 1):
        table["kernel"] = params[0]["kernel"][:, 0, 0]
        table["bias"] = params[0]["bias"][:, 0]
    return table


def history_table(history: np.ndarray) -> pd.DataFrame:
    n_records, k, _ = history.shape
    frame = pd.DataFrame(
        history.transpose(1, 0, 2).reshape(k * n_records, -1), columns=list(HISTORY_COLUMNS)
    )
    frame.insert(0, "run", np.repeat(np.arange(k), n_records))
    frame["epoch"] = frame["epoch"].astype(int)
    return frame


def assemble(config: ShardConfig, resolved: Runs, entries, task: str, has_validation: bool):
    """A :class:`ShardResult` (without device and timing) from one stored entry per run of
    ``resolved`` (:class:`decaylab.store.Entry`), in order: their parameters stacked, their
    records side by side, their runs table and history as the engine makes them."""
    params = [
        {name: np.stack([e.params[i][name] for e in entries]) for name in entries[0].params[i]}
        for i in range(len(entries[0].params))
    ]
    records = np.stack([e.history for e in entries], axis=1)
    diverged_epoch = np.array([e.diverged_epoch for e in entries])
    return ShardResult(
        runs=runs_table(
            config, resolved, params, records[-1], diverged_epoch, task, has_validation
        ),
        history=history_table(records),
        params=params,
        device="",
        seconds=0.0,
        records=records,
        diverged_epoch=diverged_epoch,
    )

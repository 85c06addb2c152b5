"""Tidy tables of a study: one row per run, and a summary per grid point over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import registry
from decaylab.files import StaleInput

#: columns that describe a run (everything else in a runs table is a metric or the seed)
SETTINGS = [
    "experiment",
    "dataset",
    "model",
    "optimizer",
    "schedule",
    "regularization",
    *(name for name in registry.HYPERPARAMETERS if name != "seed"),
    "epochs",
    "batch_size",
]
RUN_COLUMNS = ["experiment", "shard", "run", "seed", "train_loss", "test_loss", "diverged"]
"""Columns every runs table has."""


def check_runs(frame: pd.DataFrame, planned: list[dict], path, repair: str) -> pd.DataFrame:
    """``frame`` if it is the runs table of the ``planned`` runs, in order; else
    :class:`~decaylab.files.StaleInput` naming ``path``, what differs and ``repair``."""
    if len(frame) != len(planned):
        raise StaleInput(
            f"{path}: {len(frame)} rows, but the plan has {len(planned)} runs: the file is "
            f"incomplete or stale; {repair}"
        )
    missing = [c for c in RUN_COLUMNS if c not in frame]
    if missing:
        raise StaleInput(f"{path}: column {missing[0]!r} is missing; {repair}")
    for key in dict.fromkeys(k for run in planned for k in run):
        if key not in frame:
            raise StaleInput(f"{path}: column {key!r} of the plan is missing; {repair}")
        for index, (run, actual) in enumerate(zip(planned, frame[key], strict=True)):
            expected = run.get(key)
            same = (
                pd.isna(actual)
                if expected is None
                else actual == expected
                if isinstance(expected, str)
                else np.isclose(actual, expected, rtol=1e-12, atol=0)
            )
            if not same:
                raise StaleInput(
                    f"{path}: run {index} has {key} = {actual!r}, the plan {expected!r}: the file "
                    f"is stale; {repair}"
                )
    return frame


METRICS = ["test_mse", "test_accuracy", "test_loss", "train_loss", "weight_norm"]
HIGHER_IS_BETTER = {"test_accuracy"}


def primary_metric(runs: pd.DataFrame) -> str:
    """The metric that ranks settings: test accuracy for classification, else test MSE."""
    if "test_accuracy" in runs and runs["test_accuracy"].notna().any():
        return "test_accuracy"
    return "test_mse"


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, per grid point.

    A grid point where any seed diverged has ``diverged`` True and NaN metrics: its numbers
    describe a frozen, broken run and must not be ranked. ``best`` marks, per experiment, the
    grid point with the best mean primary metric (lowest MSE or loss, highest accuracy).
    """
    keys = [c for c in SETTINGS if c in runs and runs[c].notna().any()]
    metrics = [m for m in METRICS if m in runs and runs[m].notna().any()]
    grouped = runs.groupby(keys, dropna=False, sort=False)
    summary = grouped[metrics].agg(["mean", "std"])
    summary.columns = [f"{metric}_{statistic}" for metric, statistic in summary.columns]
    summary["n_seeds"] = grouped.size()
    summary["n_diverged"] = grouped["diverged"].sum().astype(int)
    summary = summary.reset_index()
    summary["diverged"] = summary["n_diverged"] > 0
    metric_columns = [c for c in summary if c.rsplit("_", 1)[-1] in ("mean", "std")]
    summary.loc[summary["diverged"], metric_columns] = np.nan
    summary["best"] = False
    for _, group in summary.groupby("experiment", sort=False):
        metric = primary_metric(runs[runs["experiment"] == group["experiment"].iloc[0]])
        column = group[f"{metric}_mean"]
        if column.notna().any():
            best = column.idxmax() if metric in HIGHER_IS_BETTER else column.idxmin()
            summary.loc[best, "best"] = True
    return summary

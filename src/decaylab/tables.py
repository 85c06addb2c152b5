"""Tidy tables of a study: one row per run, and a summary per grid point over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import registry

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

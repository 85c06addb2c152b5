"""Tidy tables of a study: one row per run, and a summary per grid point over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from decaylab import metrics, registry
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
    *registry.DERIVED_STRENGTHS,
    "epochs",
    "batch_size",
    "train_size",
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


METRICS = [
    "validation_loss",
    "validation_accuracy",
    "validation_mse",
    "test_loss",
    "test_accuracy",
    "test_mse",
    "train_loss",
    "weight_norm",
]
SELECTION_METRICS = ("validation_loss", "validation_accuracy", "validation_mse")
"""What an experiment may select its settings by: a validation metric, never a test one."""
CONFIDENCE = 0.95
"""The level of the intervals over seeds."""
SIGNIFICANCE = 0.05
"""The level of Welch's test against the selected setting."""


def best_settings(runs: pd.DataFrame, keep: list[str]) -> tuple[pd.DataFrame, list[str], str]:
    """The runs of one grid point per combination of ``keep``: the one with the best mean over
    seeds of the validation loss (the final training objective where there is no validation
    part; never a test metric), so that what remains varies only by seed.

    Returns those runs, the settings chosen over (beyond ``keep`` and the seed), and the metric.
    """
    by = (
        "validation_loss"
        if "validation_loss" in runs and runs["validation_loss"].notna().any()
        else "train_loss"
    )
    settings = [
        c for c in SETTINGS if c in runs and c not in keep and runs[c].nunique(dropna=True) > 1
    ]
    if not settings:
        return runs, [], by
    sane = runs[~runs["diverged"]] if "diverged" in runs else runs
    points = keep + settings
    means = sane.groupby(points, dropna=False, sort=False)[by].mean().reset_index()
    best = means.loc[means.groupby(keep, dropna=False, sort=False)[by].idxmin().dropna()]
    chosen = runs.merge(best[points], on=points, how="inner")
    return chosen, settings, by


def summarize(runs: pd.DataFrame, select: str | None = "validation_loss") -> pd.DataFrame:
    """Per grid point of ``runs`` (a runs table), over its seeds: every metric's mean, standard
    deviation and the half-width of its 95 % Student-t confidence interval (``t_{0.975, n−1}·s/√n``;
    NaN for one seed), and the selection.

    A grid point where any seed diverged has ``diverged`` True and NaN metrics: its numbers describe
    a frozen, broken run and are never selected. With ``select`` (a validation metric), ``selected``
    marks the grid point of each experiment with the best mean of it (lowest loss or MSE, highest
    accuracy) and ``indistinguishable`` every grid point whose seeds' values of it do not differ
    significantly from the selected one's (two-sided Welch t-test over seeds, p ≥ 0.05; NaN where a
    test needs two seeds on both sides). The test metrics are reported for what was selected, and
    never select anything."""
    if select is not None and select not in SELECTION_METRICS:
        raise ValueError(f"select must be one of {list(SELECTION_METRICS)}, got {select!r}")
    keys = [c for c in SETTINGS if c in runs and runs[c].notna().any()]
    measured = [m for m in METRICS if m in runs and runs[m].notna().any()]
    if select is not None and select not in measured:
        raise ValueError(
            f"runs have no {select} (is there a validation part? columns: {list(runs.columns)})"
        )
    grouped = runs.groupby(keys, dropna=False, sort=False)
    summary = grouped[measured].agg(["mean", "std", "count"])
    for metric in measured:
        n = summary[(metric, "count")]
        quantile = stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1))
        half_width = quantile * summary[(metric, "std")] / np.sqrt(n)
        summary[(metric, "ci95")] = half_width.where(n >= 2)
    summary = summary.drop(columns=[(m, "count") for m in measured])
    summary.columns = [f"{metric}_{statistic}" for metric, statistic in summary.columns]
    summary["n_seeds"] = grouped.size()
    summary["n_diverged"] = grouped["diverged"].sum().astype(int)
    summary = summary.reset_index()
    summary["diverged"] = summary["n_diverged"] > 0
    metric_columns = [c for c in summary if c.rsplit("_", 1)[-1] in ("mean", "std", "ci95")]
    summary.loc[summary["diverged"], metric_columns] = np.nan
    if select is None:
        return summary
    return _select(summary, grouped, select)


def _select(summary: pd.DataFrame, grouped, select: str) -> pd.DataFrame:
    """``summary`` with ``selected_by``, ``selected`` and ``indistinguishable`` (see
    :func:`summarize`); ``grouped``: the runs grouped by grid point, in the summary's order."""
    summary["selected_by"] = select
    summary["selected"] = False
    summary["indistinguishable"] = pd.array([pd.NA] * len(summary), dtype="boolean")
    values = {i: group[select].to_numpy(float) for i, (_, group) in enumerate(grouped)}
    for _, group in summary.groupby("experiment", sort=False):
        column = metrics.sign(select) * group[f"{select}_mean"]
        if column.isna().all():
            continue
        chosen = column.idxmin()
        summary.loc[chosen, "selected"] = True
        for index in group.index:
            if not summary.loc[index, "diverged"]:
                summary.loc[index, "indistinguishable"] = _indistinguishable(
                    values[index], values[chosen], index == chosen
                )
    return summary


def _indistinguishable(a: np.ndarray, b: np.ndarray, same: bool):
    """Whether seeds' values ``a`` do not differ significantly from the selected ``b``
    (Welch's two-sided t-test, p ≥ :data:`SIGNIFICANCE`; without spread on either side, equal
    only if their means are); NA where a side has fewer than two seeds."""
    if same:
        return True
    if len(a) < 2 or len(b) < 2:
        return pd.NA
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    return bool(np.allclose(a.mean(), b.mean())) if np.isnan(p) else bool(p >= SIGNIFICANCE)


def findings(summary: pd.DataFrame) -> str:
    """The end-of-run digest of a ``summary`` (:func:`summarize`'s): per experiment, the
    selected setting, the validation metric that
    chose it and the test metrics reported for it, each as mean ± 95 % half-width over seeds."""
    lines = []
    for experiment, group in summary.groupby("experiment", sort=False):
        if "selected" not in group or not group["selected"].fillna(False).astype(bool).any():
            lines.append(f"{experiment}: no selection (select: none, or every run diverged)")
            continue
        row = group[group["selected"].fillna(False).astype(bool)].iloc[0]
        settings = [
            f"{c}={row[c]:g}" if isinstance(row[c], float) else f"{c}={row[c]}"
            for c in SETTINGS
            if c in group
            and c not in ("experiment", "dataset", "epochs", "batch_size")
            and group[c].nunique(dropna=True) > 1
            and pd.notna(row[c])
        ]

        by = row["selected_by"]
        regression = pd.notna(row.get("test_mse_mean"))
        tests = ["test_mse"] if regression else ["test_loss", "test_accuracy"]
        tests = [m for m in tests if f"{m}_mean" in group and pd.notna(row[f"{m}_mean"])]
        if row["n_seeds"] < 2:
            noise = "one seed: no interval, no test"
        else:
            close = int(group["indistinguishable"].fillna(False).astype(bool).sum()) - 1
            noise = (
                f"{int(row['n_seeds'])} seeds; {close} other setting(s) not significantly different"
            )
        lines.append(
            f"{experiment}: selected {', '.join(settings) or 'its only setting'} by "
            f"{_with_interval(row, by)}; {'; '.join(_with_interval(row, m) for m in tests)} "
            f"({noise})"
        )
    return "\n".join(lines)


def _with_interval(row: pd.Series, metric: str) -> str:
    """``metric mean ± half-width`` of a summary row (no ± for one seed)."""
    half_width = row.get(f"{metric}_ci95")
    spread = f" ± {half_width:.3g}" if pd.notna(half_width) else ""
    return f"{metric.replace('_', ' ')} {row[f'{metric}_mean']:.4g}{spread}"


def selected_runs(runs: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The runs (one per seed, by seed) of the grid point ``summary`` marks ``selected``; empty
    where nothing is selected."""
    if "selected" not in summary:
        return runs.iloc[:0]
    chosen = summary[summary["selected"].fillna(False).astype(bool)]
    keys = [c for c in SETTINGS if c in runs and c in chosen and runs[c].notna().any()]
    return runs.merge(chosen[keys], on=keys, how="inner").sort_values("seed", kind="stable")

"""Where the best regularization strength moves: λ* against another setting, and its slope.

Two published results are statements about the selected strength λ*:

- Loshchilov & Hutter (ICLR 2019, Fig. 2): with an L2 penalty the best λ falls as the learning
  rate rises (λ* ∝ 1/η0: slope about −1 of log λ* on log η0), while decoupled weight decay
  makes them independent (slope about 0);
- Wang & Aitchison (2024): for AdamW the best timescale τ_epoch = 1/(η·λ·M) stays constant as
  the training set grows, so λ* ∝ 1/N at a fixed batch size (slope about −1 on log N).

:func:`optima` finds λ* per value of the other setting (``x``) and per group of runs;
:func:`slopes` fits ``log λ* = a + b·log x`` by least squares and gives ``b`` a percentile
bootstrap interval over seeds (``scipy.stats.bootstrap``): a resample draws seeds with
replacement, every grid point keeps the runs of the drawn seeds, and λ* and the slope are found
again. λ* is chosen on a validation metric, as everything else in the study.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import stats

from decaylab import registry, tables

RESAMPLES = 2000
"""Bootstrap resamples of the seeds."""

SEARCHED = {"strength", "seed", *registry.DERIVED_STRENGTHS}
"""What is searched over (λ, in whichever form the experiment gives it) or averaged (seeds)."""


def groups_of(runs: pd.DataFrame, x: str) -> list[str]:
    """The settings that vary between the runs besides ``x``, λ and the seed: each combination
    (e.g. optimizer × regularization kind) has its own λ* curve."""
    return [
        c
        for c in tables.SETTINGS
        if c in runs and c != x and c not in SEARCHED and runs[c].nunique(dropna=True) > 1
    ]


def _cube(runs: pd.DataFrame, x: str, metric: str, groups: list[str]):
    """Per group: the x values, the strengths per x (sorted), and the metric as an array
    ``(x, strength, seed)``; a diverged run counts as the worst value possible."""
    worst = -np.inf if metric in tables.HIGHER_IS_BETTER else np.inf
    values = runs[metric].where(~runs["diverged"].astype(bool), worst)
    frame = runs.assign(_value=values.fillna(worst))
    seeds = np.sort(frame["seed"].unique())
    for key, group in frame.groupby(groups, sort=True) if groups else [((), frame)]:
        xs = np.sort(group[x].unique())
        strengths = [np.sort(group.loc[group[x] == v, "strength"].unique()) for v in xs]
        width = max(len(s) for s in strengths)
        cube = np.full((len(xs), width, len(seeds)), worst)
        for i, value in enumerate(xs):
            at_x = group[group[x] == value]
            table = at_x.pivot_table(index="strength", columns="seed", values="_value")
            table = table.reindex(index=strengths[i], columns=seeds)
            cube[i, : len(strengths[i])] = table.to_numpy(float)
        padded = np.full((len(xs), width), np.nan)
        for i, s in enumerate(strengths):
            padded[i, : len(s)] = s
        yield (key if isinstance(key, tuple) else (key,)), xs, padded, cube


def _best(cube: np.ndarray, strengths: np.ndarray, higher_is_better: bool):
    """λ* per x — the strength with the best mean over the cube's seeds (NaN where none) — and
    whether it is the smallest or largest strength tried there."""
    means = cube.mean(axis=2)
    if higher_is_better:
        means = -means
    means = np.where(np.isnan(strengths) | np.isnan(means), np.inf, means)
    chosen = np.argmin(means, axis=1)
    best = strengths[np.arange(len(strengths)), chosen]
    at_edge = (chosen == 0) | (chosen == np.sum(~np.isnan(strengths), axis=1) - 1)
    return np.where(np.isfinite(means.min(axis=1)), best, np.nan), at_edge


def _slope(x: np.ndarray, best: np.ndarray, at_edge: np.ndarray) -> float:
    """The least-squares slope of log λ* on log x over the points where λ* is positive and
    inside the grid (a λ* on the edge only bounds the optimum, which may lie beyond it)."""
    keep = np.isfinite(best) & (best > 0) & ~at_edge
    if len(np.unique(x[keep])) < 2:
        return np.nan
    return float(np.polyfit(np.log(x[keep]), np.log(best[keep]), 1)[0])


def _resampled_slope(x, cube, strengths, higher_is_better, drawn) -> float:
    """The slope with the seeds ``drawn`` (indices into the cube's last axis)."""
    return _slope(x, *_best(cube[:, :, drawn.astype(int)], strengths, higher_is_better))


def optima(runs: pd.DataFrame, x: str, metric: str) -> pd.DataFrame:
    """λ* per group and value of ``x``, chosen by the mean of ``metric`` over seeds, with
    whether it sits on the edge of the strengths tried there (then the true optimum may lie
    beyond the grid) and the mean of the metric it reached."""
    groups = groups_of(runs, x)
    higher = metric in tables.HIGHER_IS_BETTER
    rows = []
    for key, xs, strengths, cube in _cube(runs, x, metric, groups):
        best, at_edge = _best(cube, strengths, higher)
        for i, value in enumerate(xs):
            rows.append(
                {
                    **dict(zip(groups, key, strict=True)),
                    x: value,
                    "best_strength": best[i],
                    "at_edge": bool(at_edge[i]),
                    "strengths_tried": int(np.sum(~np.isnan(strengths[i]))),
                    f"{metric}_mean": np.nanmax(cube[i].mean(axis=1))
                    if higher
                    else np.nanmin(cube[i].mean(axis=1)),
                }
            )
    return pd.DataFrame(rows)


def slopes(
    runs: pd.DataFrame, x: str, metric: str, resamples: int = RESAMPLES, seed: int = 0
) -> pd.DataFrame:
    """Per group, the slope of log λ* on log ``x`` over the λ* inside the grid, and its 95 %
    percentile bootstrap interval over seeds (NaN with one seed); the number of x values and
    how many of their λ* are on the grid's edge (left out of the fit). With S seeds a resample
    has at most C(2S−1, S) distinct draws (10 for three seeds), so the interval is coarse; it
    says how much the seeds move the answer, nothing about other data or architectures."""
    groups = groups_of(runs, x)
    higher = metric in tables.HIGHER_IS_BETTER
    rows = []
    for key, xs, strengths, cube in _cube(runs, x, metric, groups):
        best, at_edge = _best(cube, strengths, higher)
        slope = _slope(xs, best, at_edge)
        low = high = np.nan
        n_seeds = cube.shape[2]
        if n_seeds > 1 and np.isfinite(slope):
            interval = stats.bootstrap(
                (np.arange(n_seeds),),
                functools.partial(_resampled_slope, xs, cube, strengths, higher),
                n_resamples=resamples,
                confidence_level=tables.CONFIDENCE,
                method="percentile",
                vectorized=False,
                random_state=np.random.RandomState(seed),
            ).confidence_interval
            low, high = interval.low, interval.high
        rows.append(
            {
                **dict(zip(groups, key, strict=True)),
                "x": x,
                "slope": slope,
                "ci95_low": low,
                "ci95_high": high,
                "n_x": len(xs),
                "n_at_edge": int(at_edge.sum()),
                "n_seeds": n_seeds,
                "selected_by": metric,
            }
        )
    return pd.DataFrame(rows)

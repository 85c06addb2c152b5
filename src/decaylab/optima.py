"""Where the best regularization strength moves: λ* against another setting, and its slope.

Published results about weight decay are statements about how the best strength λ* moves with
another setting x (the initial learning rate η0, the training-set size N): Loshchilov & Hutter
(ICLR 2019, Fig. 2) on L2 against decoupled decay, Wang & Aitchison (2024) on AdamW's
timescale. Per group of runs (e.g. regularization kind) and value of x this module describes the
basin of the validation metric m(λ) — the mean over seeds — by three statistics
(:data:`STATISTICS`):

- ``argmin``: the strength of the grid with the best mean; it moves in whole grid steps;
- ``parabola``: the vertex of the parabola in log λ through the arg-min and its two
  neighbours, ``u* = u_i − ½·[(m₊−m_i)·h₋² + (m_i−m₋)·h₊²] / [(m₊−m_i)·h₋ − (m_i−m₋)·h₊]``
  with ``u = log λ`` and ``h₋ = u_i − u_{i−1}``, ``h₊ = u_{i+1} − u_i``, kept within
  ``[u_{i−1}, u_{i+1}]``; an arg-min on the grid's edge has no parabola and is flagged;
- ``edge``: the collapse edge λ_c, where m first crosses, above the arg-min, halfway between the
  row's best and the value of a network that learned nothing (``collapsed``: ln C for the
  cross-entropy of C classes), ``m(λ_c) = m_best + ½·(collapsed − m_best)``, interpolated
  linearly in log λ; flagged where m never crosses inside the grid.

:func:`slopes` fits ``log statistic = a + b·log x`` by least squares over the values of x whose
least-regularized runs have *converged* (:func:`converged`) and whose statistic is not flagged.
These slopes are exploratory: they are printed beside the claims, never judged. The judged
estimate, per seed and with an interval, is :mod:`decaylab.inference`'s. λ* is chosen on a
validation metric, as everything else in the study. A diverged run counts as the worst value
possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from decaylab import metrics, registry, tables

SEARCHED = {"strength", "seed", *registry.DERIVED_STRENGTHS}
"""What is searched over (λ, in whichever form the experiment gives it) or averaged (seeds)."""

STATISTICS = {
    "argmin": "arg-min λ* (a grid point)",
    "parabola": "sub-grid λ* (parabola in log λ)",
    "edge": "collapse edge λ_c (halfway to a network that learned nothing)",
}
"""The statistics of a basin, by the name the tables use, with what they are."""

CONVERGENCE_TOLERANCE = 0.1
"""A value of x counts as converged when the training loss of its least-regularized runs is
within this fraction of the way from the group's best such loss to ``collapsed``."""


@dataclass(frozen=True)
class NothingLearned:
    """What a network that learned nothing scores: on the selection metric (the collapse
    edge's reference) and as training loss (the convergence check's)."""

    metric: float
    train_loss: float


def learned_nothing(metric: str, train_y: np.ndarray, validation_y: np.ndarray, task: str):
    """The :class:`NothingLearned` of a data set (targets ``train_y`` and ``validation_y``,
    ``task`` ``classification`` or ``regression``) on the selection ``metric``: for C classes
    the cross-entropy ln C of the uniform prediction and the accuracy 1/C; for regression the
    mean squared error of the training targets' mean (on the validation targets for the
    metric)."""
    if task == "classification":
        classes = int(max(train_y.max(), validation_y.max())) + 1
        loss = float(np.log(classes))
        return NothingLearned(1.0 / classes if "accuracy" in metric else loss, loss)
    train_y = train_y.reshape(len(train_y), -1)
    validation_y = validation_y.reshape(len(validation_y), -1)
    centre = train_y.mean(axis=0)
    return NothingLearned(
        float(np.mean((validation_y - centre) ** 2)), float(np.mean((train_y - centre) ** 2))
    )


def groups_of(runs: pd.DataFrame, x: str) -> list[str]:
    """The settings that vary between the runs besides ``x``, λ and the seed: each combination
    (e.g. optimizer × regularization kind) has its own λ* curve. A setting that is a function of
    ``x`` alone (a ``wsd`` horizon that follows a crossed budget) varies with it, and is not a
    group."""

    def follows_x(c: str) -> bool:
        return bool((runs.groupby(x)[c].nunique(dropna=False) == 1).all())

    return [
        c
        for c in tables.SETTINGS
        if c in runs
        and c != x
        and c not in SEARCHED
        and runs[c].nunique(dropna=True) > 1
        and not follows_x(c)
    ]


@dataclass(frozen=True)
class Surface:
    """One group's metric as ``values[x, strength, seed]``, oriented so that lower is better
    (an accuracy is negated), with a diverged run at +inf; ``strengths[x, j]`` sorted per x and
    NaN-padded; ``train_loss[x, seed]`` of the least-regularized runs (NaN where not known);
    ``decay`` and ``drift`` ``[x, j, seed]``: each run's cumulative decay and norm drift
    (:mod:`decaylab.equilibrium`; NaN where not known)."""

    key: tuple
    xs: np.ndarray
    strengths: np.ndarray
    values: np.ndarray
    train_loss: np.ndarray
    decay: np.ndarray | None = None
    drift: np.ndarray | None = None

    def __post_init__(self):
        for name in ("decay", "drift"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(self.values.shape, np.nan))


DIAGNOSTICS = ("cumulative_decay", "norm_drift")
"""The runs table's equilibrium diagnostics a :class:`Surface` carries (``decay``, ``drift``)."""


def surfaces(runs: pd.DataFrame, x: str, metric: str, groups: list[str]) -> Iterator[Surface]:
    """The :class:`Surface` of ``metric`` over ``x`` and λ for every combination of the
    ``groups`` columns (:func:`groups_of`) of ``runs``."""
    values = (metrics.sign(metric) * runs[metric]).where(~runs["diverged"].astype(bool), np.inf)
    frame = runs.assign(_value=values.fillna(np.inf))
    seeds = np.sort(frame["seed"].unique())
    for key, group in frame.groupby(groups, sort=True) if groups else [((), frame)]:
        xs = np.sort(group[x].unique())
        per_x = [np.sort(group.loc[group[x] == v, "strength"].unique()) for v in xs]
        width = max(len(s) for s in per_x)
        cube = np.full((len(xs), width, len(seeds)), np.inf)
        diagnostics = {c: np.full(cube.shape, np.nan) for c in DIAGNOSTICS if c in group}
        strengths = np.full((len(xs), width), np.nan)
        train_loss = np.full((len(xs), len(seeds)), np.nan)
        for i, value in enumerate(xs):
            at_x = group[group[x] == value]
            table = at_x.pivot_table(index="strength", columns="seed", values="_value")
            cube[i, : len(per_x[i])] = table.reindex(index=per_x[i], columns=seeds).to_numpy()
            for column, values in diagnostics.items():
                table = at_x.pivot_table(index="strength", columns="seed", values=column,
                                         dropna=False)  # fmt: skip
                values[i, : len(per_x[i])] = table.reindex(index=per_x[i], columns=seeds)
            strengths[i, : len(per_x[i])] = per_x[i]
            if "train_loss" in at_x:
                weakest = at_x[at_x["strength"] == per_x[i][0]]
                train_loss[i] = weakest.groupby("seed")["train_loss"].mean().reindex(seeds)
        yield Surface(
            key if isinstance(key, tuple) else (key,), xs, strengths, cube, train_loss,
            diagnostics.get("cumulative_decay"), diagnostics.get("norm_drift"),
        )  # fmt: skip


def argmin(means: np.ndarray, strengths: np.ndarray):
    """Per row of ``means`` ``(x, λ)`` (lower is better, over the row's ``strengths``, both
    NaN-padded): the index of the best mean, the strength there, and whether it is the smallest
    or largest strength of the row (then the optimum may lie beyond the grid)."""
    tried = np.sum(~np.isnan(strengths), axis=1)
    means = np.where(np.isnan(strengths) | np.isnan(means), np.inf, means)
    chosen = np.argmin(means, axis=1)
    best = strengths[np.arange(len(strengths)), chosen]
    at_edge = (chosen == 0) | (chosen == tried - 1)
    return chosen, np.where(np.isfinite(means.min(axis=1)), best, np.nan), at_edge


def parabola(means: np.ndarray, strengths: np.ndarray):
    """Per row of ``means`` over ``strengths`` (as :func:`argmin`'s), the vertex of the
    parabola in log λ through the arg-min and its neighbours
    (the module's formula), kept between the neighbours; flagged (and the arg-min returned)
    where the arg-min is on the edge or a neighbour diverged."""
    chosen, best, at_edge = argmin(means, strengths)
    vertex = np.log(best)
    flagged = at_edge.copy()
    for row, i in enumerate(chosen):
        if at_edge[row] or not np.isfinite(best[row]):
            continue
        u = np.log(strengths[row, i - 1 : i + 2])
        m_low, m_mid, m_high = means[row, i - 1 : i + 2]
        if not (np.isfinite(m_low) and np.isfinite(m_high)):
            flagged[row] = True
            continue
        below, above = u[1] - u[0], u[2] - u[1]
        rise_high, rise_low = m_high - m_mid, m_mid - m_low
        denominator = rise_high * below - rise_low * above
        if denominator > 0:  # zero: a flat bottom; the arg-min is as good as any point of it
            shift = 0.5 * (rise_high * below**2 + rise_low * above**2) / denominator
            vertex[row] = np.clip(u[1] - shift, u[0], u[2])
    return np.exp(vertex), flagged


def collapse_edge(means: np.ndarray, strengths: np.ndarray, collapsed: float):
    """Per row of ``means`` over ``strengths`` (as :func:`argmin`'s), the collapse edge λ_c
    (the module's formula) and whether it lies beyond the grid (NaN then). Values worse than
    ``collapsed`` (a diverged run) count as ``collapsed``."""
    chosen, best, _ = argmin(means, strengths)
    edge = np.full(len(means), np.nan)
    for row, i in enumerate(chosen):
        bottom = means[row, i]
        if not np.isfinite(bottom) or bottom >= collapsed:
            continue
        target = bottom + 0.5 * (collapsed - bottom)
        tried = int(np.sum(~np.isnan(strengths[row])))
        curve = np.minimum(means[row, :tried], collapsed)
        above = np.flatnonzero(curve[i:] >= target)
        if len(above) == 0:
            continue
        j = i + above[0]
        u_low, u_high = np.log(strengths[row, j - 1]), np.log(strengths[row, j])
        fraction = (target - curve[j - 1]) / (curve[j] - curve[j - 1])
        edge[row] = np.exp(u_low + fraction * (u_high - u_low))
    return edge, np.isnan(edge)


def converged(train_loss: np.ndarray, collapsed: float | None, tolerance=CONVERGENCE_TOLERANCE):
    """Per value of x, whether its least-regularized runs trained (``train_loss`` ``(x, seed)``, its
    mean over seeds ``L``): ``L − L_best ≤ tolerance·(collapsed − L_best)``, with ``L_best`` the
    best of the group. An under-trained row puts λ* at the grid's lower edge for a reason that has
    nothing to do with regularization. True everywhere where the training loss or ``collapsed`` is
    not known."""
    if collapsed is None or not np.isfinite(train_loss).any():
        return np.ones(len(train_loss), dtype=bool)
    loss = np.nanmean(train_loss, axis=1)
    best = np.nanmin(loss)
    return np.isfinite(loss) & (loss - best <= tolerance * (collapsed - best))


def statistic(name: str, means: np.ndarray, strengths: np.ndarray, collapsed: float | None):
    """The statistic ``name`` of :data:`STATISTICS` per row of ``means`` over ``strengths``
    (as :func:`argmin`'s; ``collapsed`` the edge's reference, :func:`collapse_edge`), and
    whether it is flagged (on the grid's edge or beyond it: then it only bounds the answer and
    is left out of a fit)."""
    if name == "argmin":
        return argmin(means, strengths)[1:]
    if name == "parabola":
        return parabola(means, strengths)
    if collapsed is None:
        return np.full(len(means), np.nan), np.ones(len(means), dtype=bool)
    return collapse_edge(means, strengths, collapsed)


def references(metric: str, nothing: NothingLearned | None):
    """The collapse edge's reference, ``nothing``'s score on ``metric`` oriented as the
    :class:`Surface` (lower is better), and the convergence check's training loss (both None
    without ``nothing``)."""
    if nothing is None:
        return None, None
    return metrics.sign(metric) * nothing.metric, nothing.train_loss


def _slope(x: np.ndarray, value: np.ndarray, keep: np.ndarray) -> float:
    """The least-squares slope of log value on log x over the rows kept with a positive value."""
    keep = keep & np.isfinite(value) & (value > 0)
    if len(np.unique(x[keep])) < 2:
        return np.nan
    return float(np.polyfit(np.log(x[keep]), np.log(value[keep]), 1)[0])


def _timescales(runs: pd.DataFrame, x: str) -> dict:
    """Per value of ``x``, its ``learning_rate`` η and ``updates_per_epoch`` M where the grid
    was written as a timescale τ = 1/(η·λ·M) and both are one per x (else empty)."""
    if "timescale" not in runs or x == "learning_rate":
        return {}
    per_x = runs.groupby(x)[["learning_rate", "updates_per_epoch"]]
    return per_x.first().to_dict("index") if (per_x.nunique() == 1).all().all() else {}


def basin_table(
    runs: pd.DataFrame,
    x: str,
    metric: str,
    nothing: NothingLearned | None = None,
    tolerance: float = CONVERGENCE_TOLERANCE,
) -> pd.DataFrame:
    """Per group and value of ``x``: every statistic (``argmin``, ``parabola``, ``edge``) with
    whether it is flagged (``*_flagged``: on the grid's edge or beyond it), whether the
    least-regularized runs converged, their training loss, and the best mean of ``metric``;
    where the grid was written as a timescale, each statistic also as τ = 1/(η·λ·M) in epochs
    (``*_timescale``).
    ``nothing``: :func:`learned_nothing` (without it, no edge and no convergence check);
    ``tolerance``: :func:`converged`'s."""
    groups = groups_of(runs, x)
    reference, untrained = references(metric, nothing)
    timescale = _timescales(runs, x)
    rows = []
    for surface in surfaces(runs, x, metric, groups):
        means = surface.values.mean(axis=2)
        found = {name: statistic(name, means, surface.strengths, reference) for name in STATISTICS}
        trained = converged(surface.train_loss, untrained, tolerance)
        for i, value in enumerate(surface.xs):
            loss = surface.train_loss[i]
            scale = timescale.get(value)
            rows.append(
                {
                    **dict(zip(groups, surface.key, strict=True)),
                    x: value,
                    **{n: found[n][0][i] for n in STATISTICS},
                    **{f"{n}_flagged": bool(found[n][1][i]) for n in STATISTICS},
                    "converged": bool(trained[i]),
                    "weakest_train_loss": np.nanmean(loss) if np.isfinite(loss).any() else np.nan,
                    **{
                        f"{n}_timescale": 1.0
                        / (scale["learning_rate"] * found[n][0][i] * scale["updates_per_epoch"])
                        for n in (STATISTICS if scale else ())
                    },
                    "strengths_tried": int(np.sum(~np.isnan(surface.strengths[i]))),
                    f"{metric}_mean": metrics.sign(metric) * np.nanmin(means[i]),
                }
            )
    return pd.DataFrame(rows)


def slopes(
    runs: pd.DataFrame,
    x: str,
    metric: str,
    nothing: NothingLearned | None = None,
    tolerance: float = CONVERGENCE_TOLERANCE,
) -> pd.DataFrame:
    """Per group and statistic of :data:`STATISTICS`, the slope of log statistic on log ``x`` of
    the seed-mean basin over the converged, unflagged values of x (``runs``, ``metric``,
    ``nothing`` and ``tolerance`` are :func:`basin_table`'s), with how many values of x there are,
    were fitted, did not converge and were flagged. Exploratory: no interval and no verdict (the
    judged estimate is :mod:`decaylab.inference`'s)."""
    groups = groups_of(runs, x)
    reference, untrained = references(metric, nothing)
    rows = []
    for surface in surfaces(runs, x, metric, groups):
        trained = converged(surface.train_loss, untrained, tolerance)
        means = surface.values.mean(axis=2)
        for name in STATISTICS:
            value, flagged = statistic(name, means, surface.strengths, reference)
            rows.append(
                {
                    **dict(zip(groups, surface.key, strict=True)),
                    "x": x,
                    "statistic": name,
                    "slope": _slope(surface.xs, value, trained & ~flagged),
                    "n_x": len(surface.xs),
                    "n_fitted": int(np.sum(trained & ~flagged & np.isfinite(value))),
                    "n_unconverged": int(np.sum(~trained)),
                    "n_flagged": int(np.sum(flagged & trained)),
                    "n_seeds": surface.values.shape[2],
                    "selected_by": metric,
                }
            )
    return pd.DataFrame(rows)

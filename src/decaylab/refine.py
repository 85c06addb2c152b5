"""Refinement rounds: λ values added where each row's basin is, decided by the runs so far (no
Snakemake, no backend).

An experiment may declare ``refine: {points: p, rounds: R}`` before its runs. After each round
r < R, every row of its grid (one combination of all settings but λ and the seed: a value of x
within a group, e.g. η0 × kind) gets up to p new values of its strength axis (λ, or the derived
axis the grid is written in: ``lr_times_strength``, ``timescale``), decided by the row's
seed-mean basin m(λ) of the selection metric (lower is better, a diverged run +∞):

- the vertex v of the basin is :func:`decaylab.optima.parabola`'s (the parabola in log λ through
  the arg-min and its neighbours);
- inside the grid, the new values are the log-midpoints √(λ_j·λ_{j+1}) of the p/2 grid intervals
  nearest v (by their midpoint) on each side of it, so that they bracket v;
- where the arg-min is the grid's smallest or largest value, the grid extends outward instead by
  p steps of the log spacing of its edge interval, λ_edge·(λ_edge/λ_next)^k, k = 1 … p;
- with a ``decay`` gate (``least_decay``), all of this on the row's λ at which every seed's
  cumulative decay reached it, as the judged estimator sees the row: an arg-min at the gate's
  edge gets nothing (values beyond it would not reach D), and a row with fewer than
  :data:`MIN_REACHED` such λ gets nothing;
- a row in which every λ has a diverged seed gets none.

The new values are rounded to :data:`DIGITS` significant digits (legible, and within 0.05 % of
the midpoint). "Below" and "above" refer to the axis the grid is written in (for ``timescale``,
τ ∝ 1/λ). Each new value trains with every seed of its row, in its own training job
(``SHARD_round{r}``) whose runs come from the store where it already holds them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import metrics, optima, registry
from decaylab.grid import base_shard, round_of

DIGITS = 4
"""Significant digits of a new value."""
MIN_REACHED = 3
"""Least λ a row must have at D ≥ the decay gate before it is refined: the ``equilibrated``
gate's own count (``decaylab.inference``), so that refinement never decides which rows the gate
admits (a row extended past it only where λ* lies above the boundary λ ≈ c/η0 would truncate on
the outcome along a line of slope −1)."""


def axis_of(runs: list[dict]) -> str | None:
    """The strength axis the ``runs`` of a spec are written in: a derived one
    (``registry.DERIVED_STRENGTHS``) where they give it, else ``strength``; None where no run
    reads a strength."""
    for name in (*registry.DERIVED_STRENGTHS, "strength"):
        if any(name in run for run in runs):
            return name
    return None


def new_values(
    values: np.ndarray, means: np.ndarray, points: int, extend=(True, True)
) -> tuple[np.ndarray, str]:
    """The values to add to one row (the module's rule): ``values`` the row's axis values, sorted
    and positive, ``means`` its seed-mean metric there (lower is better, +∞ diverged), ``points``
    p; ``extend`` whether the grid may grow below and above (False where that edge is the decay
    gate's, not the grid's: values beyond it would not reach D). Returns the new values
    (increasing) and how they were placed (``inside``, ``below the grid``, ``above the grid``,
    ``at the decay gate's edge`` or ``diverged``)."""
    values, means = np.asarray(values, float), np.asarray(means, float)
    if not np.isfinite(means).any():
        return np.array([]), "diverged"
    if len(values) < 2:
        return np.array([]), "one value: no spacing to refine by"
    chosen, _, at_edge = optima.argmin(means[None], values[None])
    if at_edge[0]:
        low = chosen[0] == 0
        if not extend[0 if low else 1]:
            return np.array([]), "at the decay gate's edge"
        edge, inner = (values[0], values[1]) if low else (values[-1], values[-2])
        steps = (edge / inner) ** np.arange(1, points + 1)
        return _rounded(np.sort(edge * steps)), "below the grid" if low else "above the grid"
    vertex = np.log(optima.parabola(means[None], values[None])[0][0])
    middles = 0.5 * (np.log(values[:-1]) + np.log(values[1:]))
    below = middles[middles < vertex][::-1][: points // 2]
    above = middles[middles >= vertex][: points // 2]
    return _rounded(np.exp(np.sort(np.concatenate([below, above])))), "inside"


def _rounded(values: np.ndarray) -> np.ndarray:
    return np.array([float(f"{v:.{DIGITS}g}") for v in values])


def _row_key(run: dict, axis: str) -> tuple:
    return tuple(sorted((k, v) for k, v in run.items() if k not in (axis, "seed")))


def _row_values(row: dict, points: int, least_decay: float | None):
    """One row's values, and where :func:`new_values` puts its new ones: with ``least_decay``
    (the claim's ``gates.decay``), on the values where every seed's cumulative decay reached it,
    as the judged estimator sees the row (``decaylab.inference.equilibrium_grid``)."""
    values = np.array(sorted(row["by_value"]))
    means = np.array([np.mean(row["by_value"][v]) for v in values])
    if least_decay is None:
        return values, new_values(values, means, points)
    reached = np.array([np.all(np.nan_to_num(row["decay"][v], nan=-np.inf) >= least_decay)
                        for v in values])  # fmt: skip
    if reached.sum() < MIN_REACHED:  # the gate's own count: refining could not admit the row
        return values, (np.array([]), "too few λ reach the decay gate")
    extend = (bool(reached[0]), bool(reached[-1]))
    return values, new_values(values[reached], means[reached], points, extend)


def plan_round(specs: list[dict], runs: pd.DataFrame, metric: str, points: int, round_: int,
               least_decay: float | None = None):  # fmt: skip
    """The runs refinement round ``round_`` adds, from the ``specs`` of every training job so far
    (``spec.json``) and their ``runs`` tables concatenated in the same order, chosen on
    ``metric``, ``points`` per row, placed as the judged estimator sees each row (with
    ``least_decay``, :func:`_row_values`). Returns ``(shards, rows)``: the specs of the round's
    training jobs by name (one per shard that gains runs, named ``SHARD_round{r}``), and one row
    per grid row: its settings, the values it had, where the new ones went and which."""
    planned = [run for spec in specs for run in spec["runs"]]
    if len(planned) != len(runs):
        raise ValueError(f"{len(runs)} runs in the tables, {len(planned)} in the specs")
    score = (metrics.sign(metric) * runs[metric]).where(~runs["diverged"].astype(bool), np.inf)
    score = score.fillna(np.inf).to_numpy()
    owners = [base_shard(spec["shard"]) for spec in specs for _ in spec["runs"]]
    decay = runs["cumulative_decay"] if "cumulative_decay" in runs else np.full(len(runs), np.nan)
    axis = axis_of(planned)
    rows: dict[tuple, dict] = {}
    for run, value, owner, reached in zip(planned, score, owners, decay, strict=True):
        if axis is None or axis not in run:
            continue
        row = rows.setdefault((owner, _row_key(run, axis)),
                              {"template": run, "by_value": {}, "decay": {}})  # fmt: skip
        row["by_value"].setdefault(run[axis], []).append(value)
        row["decay"].setdefault(run[axis], []).append(reached)
        row.setdefault("seeds", {})[run["seed"]] = None
    added: dict[str, list[dict]] = {}
    records = []
    for (owner, key), row in rows.items():
        values, (new, placed) = _row_values(row, points, least_decay)
        new = [v for v in new if not np.isclose(values, v, rtol=1e-9, atol=0).any()]
        for value in new:
            for seed in row["seeds"]:
                added.setdefault(owner, []).append({**row["template"], axis: value, "seed": seed})
        records.append({"shard": owner, **dict(key), "round": round_, "axis": axis,
                        "tried": len(values), "placed": placed,
                        "added": " ".join(f"{v:g}" for v in new)})  # fmt: skip
    template = {base_shard(spec["shard"]): spec for spec in specs if round_of(spec["shard"]) == 0}
    shards = {
        f"{owner}_round{round_}": {
            **template[owner],
            "shard": f"{owner}_round{round_}",
            "round": round_,
            "runs": new_runs,
        }  # fmt: skip
        for owner, new_runs in added.items()
    }
    return shards, pd.DataFrame(records)

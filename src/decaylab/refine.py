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
- a row whose every run diverged gets none.

The new values are rounded to :data:`DIGITS` significant digits (the grids of the config are
written that way). Each new value trains with every seed of its row, in its own training job
(``SHARD_round{r}``) whose runs come from the store where it already holds them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import metrics, optima, registry
from decaylab.grid import base_shard, round_of

DIGITS = 4
"""Significant digits of a new value."""


def axis_of(runs: list[dict]) -> str | None:
    """The strength axis the ``runs`` of a spec are written in: a derived one
    (``registry.DERIVED_STRENGTHS``) where they give it, else ``strength``; None where no run
    reads a strength."""
    for name in (*registry.DERIVED_STRENGTHS, "strength"):
        if any(name in run for run in runs):
            return name
    return None


def new_values(values: np.ndarray, means: np.ndarray, points: int) -> tuple[np.ndarray, str]:
    """The values to add to one row (the module's rule): ``values`` the row's axis values, sorted
    and positive, ``means`` its seed-mean metric there (lower is better, +∞ diverged), ``points``
    p. Returns the new values (increasing) and how they were placed (``inside``, ``below the
    grid``, ``above the grid`` or ``diverged``)."""
    values, means = np.asarray(values, float), np.asarray(means, float)
    if not np.isfinite(means).any():
        return np.array([]), "diverged"
    chosen, _, at_edge = optima.argmin(means[None], values[None])
    if at_edge[0] and len(values) > 1:
        low = chosen[0] == 0
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


def plan_round(specs: list[dict], runs: pd.DataFrame, metric: str, points: int, round_: int):
    """The runs refinement round ``round_`` adds, from the ``specs`` of every training job so far
    (``spec.json``) and their ``runs`` tables concatenated in the same order, chosen on
    ``metric``, ``points`` per row. Returns ``(shards, rows)``: the specs of the round's
    training jobs by name (one per shard that gains runs, named ``SHARD_round{r}``), and one row
    per grid row: its settings, the values it had, where the new ones went and which."""
    planned = [run for spec in specs for run in spec["runs"]]
    if len(planned) != len(runs):
        raise ValueError(f"{len(runs)} runs in the tables, {len(planned)} in the specs")
    score = (metrics.sign(metric) * runs[metric]).where(~runs["diverged"].astype(bool), np.inf)
    score = score.fillna(np.inf).to_numpy()
    owners = [base_shard(spec["shard"]) for spec in specs for _ in spec["runs"]]
    axis = axis_of(planned)
    rows: dict[tuple, dict] = {}
    for run, value, owner in zip(planned, score, owners, strict=True):
        if axis is None or axis not in run:
            continue
        row = rows.setdefault((owner, _row_key(run, axis)), {"template": run, "by_value": {}})
        row["by_value"].setdefault(run[axis], []).append(value)
        row.setdefault("seeds", {})[run["seed"]] = None
    added: dict[str, list[dict]] = {}
    records = []
    for (owner, key), row in rows.items():
        values = np.array(sorted(row["by_value"]))
        means = np.array([np.mean(row["by_value"][v]) for v in values])
        new, placed = new_values(values, means, points)
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

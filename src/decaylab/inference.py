"""The primary estimate of a λ* slope: per seed a smooth vertex per row, gated rows, a t interval.

The λ* of a row (a value of x, e.g. η0) is the vertex of its basin. Per seed s and row i, a
quadratic ``m = a·u² + b·u + c`` in ``u = ln λ`` is fitted by least squares to the seed's
metric at the grid points within ``window`` steps of the seed-mean arg-min (the same points for
every seed; a diverged point left out), and its minimum over those points is the vertex
``v_si`` (``−b/2a`` kept inside them where ``a > 0``, else the lower end). Each seed's slope is
the least-squares slope of ``v_si`` on ``ln x_i`` over the rows every gate admits, and the
estimate is their mean ``β̂`` with the Student-t interval ``β̂ ± t_{S−1}·sd/√S`` over the S seeds.

Why per seed and a t interval: seeds are independent replicates of the whole grid, so the S
per-seed slopes are independent draws of one estimator and the interval needs only their
normality (its coverage is measured by simulation, :mod:`decaylab.calibration`). A bootstrap
over 3 seeds has 10 distinct resamples; a mixed model with a seed effect has no more than
S − 1 degrees of freedom for the slope either, and adds a dependency.

The gates (:class:`Gates`, written in the config with the prediction) admit a row only if

- ``trained``: its least-regularized runs trained (:func:`decaylab.optima.converged`),
- ``equilibrated`` (only where the gates give ``decay`` or ``drift``: a prediction about the
  equilibrium): with ``decay``, the row's grid is first restricted to the λ at which every
  seed's cumulative decay D = Σ_t d_t reached it (:func:`equilibrium_grid`, before the arg-min),
  and at least three such λ remain; with ``drift``, every seed's weight norm at the arg-min moved
  by less than that fraction over the last fifth of the constant-rate phase
  (:mod:`decaylab.equilibrium`; a run without such a phase fails),
- ``learned``: its best seed-mean metric lies within ``learned`` of the way from the group's
  best to that of a network that learned nothing,
- ``resolved``: the basin is deeper than the seed noise: the seed mean of
  ``m(λ_min) − m(λ*)`` (the smallest λ against the arg-min) exceeds ``resolution`` standard
  errors of the seed mean of ``m(λ*)`` (``sd/√S`` over seeds). The noise of the metric itself,
  not of the paired difference: seeds that differ only in level make a paired difference, or a
  curvature, "significant" however small it is — a basin flat to 1e-4, where round-off picks the
  arg-min, would pass,
- ``inside``: its seed-mean arg-min is not the smallest or largest λ of the row,
- ``stable``: no seed diverged at the points of the quadratic (the basin near λ* trains).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from decaylab import optima

GATES = ("trained", "equilibrated", "learned", "resolved", "inside", "stable")
"""The row gates, in the order they are counted (a row is counted at the first it fails: a flat
basin is unresolved wherever its arg-min happens to lie)."""

CONFIDENCES = (0.90, 0.95)
"""The intervals given: the 90 % one judges agreement (equivalence), the 95 % one disagreement."""


@dataclass(frozen=True)
class Gates:
    """The tolerances of the gates and identity checks (``expect.slope.gates``): ``converged``
    and ``learned`` fractions of the way to a network that learned nothing, ``resolution`` in
    seed standard errors, ``identity`` the tolerance of an identity check, ``window`` the
    quadratic's half-width in grid steps (not a tolerance: never scaled); ``decay`` the least
    cumulative decay D and ``drift`` the largest relative drift of ‖w‖ of the ``equilibrated``
    gate (None: the gate admits every row)."""

    converged: float = optima.CONVERGENCE_TOLERANCE
    learned: float = 0.25
    resolution: float = 2.0
    identity: float = 0.1
    window: int = 2
    decay: float | None = None
    drift: float | None = None

    @classmethod
    def of(cls, claim: dict) -> Gates:
        """The gates of an ``expect`` entry (its ``gates``; the defaults where absent)."""
        return cls(**claim.get("gates", {}))

    def scaled(self, name: str, factor: float) -> Gates:
        """These gates with the tolerance ``name`` multiplied by ``factor``."""
        return dataclasses.replace(self, **{name: getattr(self, name) * factor})


TOLERANCES = ("converged", "learned", "resolution", "identity")
"""The tolerances the sensitivity table halves and doubles."""


def t_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The Student-t interval at ``confidence`` (e.g. 0.95) of the mean of ``values``
    (``scipy.stats.t`` on S − 1 degrees of freedom); NaN with fewer than two finite values."""
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return np.nan, np.nan
    scale = np.std(values, ddof=1) / np.sqrt(len(values))
    if scale == 0:
        return float(values.mean()), float(values.mean())
    low, high = stats.t.interval(confidence, len(values) - 1, loc=values.mean(), scale=scale)
    return float(low), float(high)


def least_squares_slopes(log_x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per column of ``values`` (rows against ``log_x``), the least-squares slope
    ``Σ(x − x̄)(v − v̄) / Σ(x − x̄)²``; NaN with fewer than two distinct x."""
    if len(np.unique(log_x)) < 2:
        return np.full(values.shape[1], np.nan)
    centred = log_x - log_x.mean()
    return centred @ (values - values.mean(axis=0)) / (centred @ centred)


@dataclass(frozen=True)
class Vertices:
    """Per row of a surface: the seed-mean arg-min ``centre`` (an index into the row's λ), and per
    row and seed the vertex ``log_vertex`` (ln λ) and the ``depth`` ``m(λ_min) − m(λ*)``, and per
    row whether no seed diverged at the points of the quadratic (``stable``)."""

    centre: np.ndarray
    log_vertex: np.ndarray
    depth: np.ndarray
    stable: np.ndarray


def _quadratic_vertex(u: np.ndarray, m: np.ndarray) -> float:
    """The minimum over ``[u.min(), u.max()]`` of the least-squares quadratic through the finite
    points ``(u, m)`` (NaN with fewer than three)."""
    keep = np.isfinite(m)
    if keep.sum() < 3:
        return np.nan
    u, m = u[keep], m[keep]
    a, b, _ = np.polyfit(u, m, 2)
    if a > 0:
        return float(np.clip(-b / (2 * a), u.min(), u.max()))
    ends = np.array([u.min(), u.max()])
    return float(ends[np.argmin(np.polyval([a, b, 0], ends))])


def vertices(values: np.ndarray, strengths: np.ndarray, window: int, worst: float | None):
    """The :class:`Vertices` of ``values[x, λ, seed]`` (lower is better, +inf diverged) over
    ``strengths[x, λ]`` (NaN-padded), each quadratic over the points within ``window`` grid steps
    of the seed-mean arg-min; ``worst`` caps a value in the depth (a diverged run counts as a
    network that learned nothing), None leaves it."""
    means = values.mean(axis=2)
    centre, _, _ = optima.argmin(means, strengths)
    rows, _, seeds = values.shape
    log_vertex = np.full((rows, seeds), np.nan)
    stable = np.zeros(rows, dtype=bool)
    capped = values if worst is None else np.minimum(values, worst)
    depth = capped[:, 0, :] - capped[np.arange(rows), centre, :]
    for i, j in enumerate(centre):
        tried = int(np.sum(~np.isnan(strengths[i])))
        near = slice(max(j - window, 0), min(j + window + 1, tried))
        u = np.log(strengths[i, near])
        stable[i] = np.isfinite(values[i, near]).all()
        for s in range(seeds):
            log_vertex[i, s] = _quadratic_vertex(u, values[i, near, s])
    return Vertices(centre, log_vertex, depth, stable)


def _resolved(values: np.ndarray, centre: np.ndarray, depth: np.ndarray, resolution: float):
    """Per row of ``values[x, λ, seed]``: whether the seed-mean ``depth`` exceeds ``resolution``
    standard errors of the seed mean at the arg-min ``centre`` (with one seed: whether it is
    positive)."""
    mean = np.nanmean(depth, axis=1)
    seeds = values.shape[2]
    if seeds < 2:
        return mean > 0
    at_centre = values[np.arange(len(centre)), centre, :]
    with np.errstate(invalid="ignore"):  # a row with no finite run (diverged, or no λ left)
        error = np.std(at_centre, axis=1, ddof=1) / np.sqrt(seeds)
    return np.isfinite(mean) & (mean > resolution * np.nan_to_num(error, nan=np.inf))


def _equilibrated(surface: optima.Surface, centre: np.ndarray, gates: Gates) -> np.ndarray:
    """Per row of a ``surface`` restricted by :func:`equilibrium_grid`: whether at least three
    strengths (a quadratic's) reached ``gates.decay``, and every seed's run at the arg-min
    ``centre`` has a norm drift below ``gates.drift`` (each where given; NaN fails)."""
    passed = np.ones(len(centre), dtype=bool)
    rows = np.arange(len(centre))
    if gates.decay is not None:
        passed &= np.sum(~np.isnan(surface.strengths), axis=1) >= 3
    if gates.drift is not None:
        drift = np.nan_to_num(surface.drift[rows, centre, :], nan=np.inf)
        passed &= np.all(drift < gates.drift, axis=1)
    return passed


def row_gates(surface: optima.Surface, found: Vertices, gates: Gates, worst, untrained) -> dict:
    """Per gate of :data:`GATES`, whether each row of ``surface`` passes it under the tolerances
    ``gates`` (``found`` its :func:`vertices`; ``worst`` the metric of a network that learned
    nothing, oriented lower is better, and ``untrained`` its training loss, both None where not
    known)."""
    means = surface.values.mean(axis=2)
    tried = np.sum(~np.isnan(surface.strengths), axis=1)
    best = np.min(np.where(np.isnan(means), np.inf, means), axis=1)
    learned = np.ones(len(best), dtype=bool)
    if worst is not None and np.isfinite(best).any():
        top = np.min(best)
        learned = best - top <= gates.learned * (worst - top)
    return {
        "trained": optima.converged(surface.train_loss, untrained, gates.converged),
        "equilibrated": _equilibrated(surface, found.centre, gates),
        "learned": learned,
        "inside": (found.centre > 0) & (found.centre < tried - 1),
        "stable": found.stable & np.isfinite(found.log_vertex).all(axis=1),
        "resolved": _resolved(surface.values, found.centre, found.depth, gates.resolution),
    }


@dataclass(frozen=True)
class GroupEstimate:
    """One group's rows: ``log_x``, the per-seed ``log_vertex[x, seed]``, the rows ``admitted``
    and the gate each rejected row failed first (``failed``, "" where admitted)."""

    key: tuple
    xs: np.ndarray
    log_vertex: np.ndarray
    admitted: np.ndarray
    failed: np.ndarray
    gates: dict

    def seed_slopes(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Each seed's slope of ln λ* on ln x over ``rows`` (default: the admitted ones)."""
        rows = self.admitted if rows is None else rows
        return least_squares_slopes(np.log(self.xs[rows]), self.log_vertex[rows])


def equilibrium_grid(surface: optima.Surface, decay: float) -> optima.Surface:
    """``surface`` with each row's λ grid restricted, before any arg-min, to the strengths at
    which every seed's run reached the cumulative decay ``decay`` (D grows with λ, so these are
    the row's largest λ; the rest are dropped and the row is NaN-padded). A restriction of the
    design, not of the outcome: gating on D at the estimated λ* would keep a row exactly where
    λ* ≥ c/η0, a boundary of slope −1 that biases the very slope under test."""
    rows, width, seeds = surface.values.shape
    keep = np.all(np.nan_to_num(surface.decay, nan=-np.inf) >= decay, axis=2)
    arrays = {
        "strengths": np.full((rows, width), np.nan),
        "values": np.full((rows, width, seeds), np.inf),
        "decay": np.full((rows, width, seeds), np.nan),
        "drift": np.full((rows, width, seeds), np.nan),
    }
    for i in range(rows):
        columns = np.flatnonzero(keep[i] & ~np.isnan(surface.strengths[i]))
        for name, target in arrays.items():
            target[i, : len(columns)] = getattr(surface, name)[i, columns]
    return dataclasses.replace(surface, **arrays)


def estimate_group(surface: optima.Surface, gates: Gates, worst, untrained) -> GroupEstimate:
    """The :class:`GroupEstimate` of one ``surface`` under ``gates`` (``worst`` and ``untrained``
    as :func:`row_gates`')."""
    if gates.decay is not None:
        surface = equilibrium_grid(surface, gates.decay)
    found = vertices(surface.values, surface.strengths, gates.window, worst)
    passed = row_gates(surface, found, gates, worst, untrained)
    failed = np.full(len(surface.xs), "", dtype=object)
    for name in reversed(GATES):
        failed = np.where(passed[name], failed, name)
    return GroupEstimate(
        surface.key, surface.xs, found.log_vertex, failed == "", failed.astype(str), passed
    )


def summarize(seed_slopes: np.ndarray) -> dict:
    """The estimate (the mean of ``seed_slopes``, the per-seed slopes) with its 90 % and 95 % t
    intervals."""
    finite = seed_slopes[np.isfinite(seed_slopes)]
    row = {"slope": float(finite.mean()) if len(finite) else np.nan}
    for confidence in CONFIDENCES:
        name = f"ci{round(confidence * 100)}"
        row[f"{name}_low"], row[f"{name}_high"] = t_interval(seed_slopes, confidence)
    return row


def assess(
    runs: pd.DataFrame, x: str, metric: str, nothing: optima.NothingLearned | None, gates: Gates
) -> dict[tuple, GroupEstimate]:
    """Per group of ``runs`` (:func:`decaylab.optima.groups_of`), its :class:`GroupEstimate` of
    the slope of ln λ* on ln ``x``, chosen on ``metric`` under ``gates`` (``nothing``:
    :func:`decaylab.optima.learned_nothing`)."""
    worst, untrained = optima.references(metric, nothing)
    groups = optima.groups_of(runs, x)
    return {
        surface.key: estimate_group(surface, gates, worst, untrained)
        for surface in optima.surfaces(runs, x, metric, groups)
    }


def slopes_table(estimates: dict[tuple, GroupEstimate], groups: list[str], x: str) -> pd.DataFrame:
    """One row per group of ``estimates`` (:func:`assess`'s, keyed by the values of the
    ``groups`` columns) against ``x``: the estimate and its intervals, the seeds' slopes, and how
    many rows there are, were admitted, and failed each gate first (``n_<gate>``)."""
    rows = []
    for key, found in estimates.items():
        seed_slopes = found.seed_slopes()
        rows.append(
            {
                **dict(zip(groups, key, strict=True)),
                "x": x,
                "statistic": "vertex",
                **summarize(seed_slopes),
                "seed_slopes": " ".join(f"{s:.4f}" for s in seed_slopes),
                "n_x": len(found.xs),
                "n_fitted": int(found.admitted.sum()),
                **{f"n_{gate}": int(np.sum(found.failed == gate)) for gate in GATES},
                "n_seeds": found.log_vertex.shape[1],
            }
        )
    return pd.DataFrame(rows)


def rows_table(estimates: dict[tuple, GroupEstimate], groups: list[str], x: str) -> pd.DataFrame:
    """One row per group of ``estimates`` (:func:`assess`'s, keyed by the values of the
    ``groups`` columns) and value of ``x``: the vertex λ* (``exp`` of the seeds' mean ln λ*),
    whether a gate left the row out (``vertex_flagged``), and the gate it failed first ("" where
    admitted)."""
    frames = [
        pd.DataFrame(
            {
                **{c: [k] * len(found.xs) for c, k in zip(groups, key, strict=True)},
                x: found.xs,
                "vertex": np.exp(np.mean(found.log_vertex, axis=1)),
                "vertex_flagged": ~found.admitted,
                "vertex_failed_gate": found.failed,
            }
        )
        for key, found in estimates.items()
    ]
    return pd.concat(frames, ignore_index=True)


def identity_check(a: GroupEstimate, b: GroupEstimate) -> np.ndarray:
    """Each seed's slope of group ``a`` minus that of group ``b`` over the rows both admit (the
    same seeds, paired; NaN with fewer than two such rows)."""
    rows = a.admitted & b.admitted
    if not np.array_equal(a.xs, b.xs) or rows.sum() < 2:
        return np.full(a.log_vertex.shape[1], np.nan)
    return a.seed_slopes(rows) - b.seed_slopes(rows)


@dataclass(frozen=True)
class Measured:
    """What an experiment's runs give under one set of gates: ``primary`` (one row per group of
    ``groups``, the judged statistic with its intervals and gate counts), ``exploratory`` (the
    other statistics' slopes, no intervals), ``seed_difference(a, b)``, the per-seed slopes
    of group key ``a`` minus those of ``b`` over the rows both admit (None: no identities), and
    ``rows`` (:func:`rows_table`; None where the estimate has no rows of x)."""

    groups: list[str]
    primary: pd.DataFrame
    exploratory: pd.DataFrame
    seed_difference: Callable[[tuple, tuple], np.ndarray] | None = None
    rows: pd.DataFrame | None = None


def measure(runs: pd.DataFrame, x: str, metric: str, nothing: optima.NothingLearned | None):
    """A function of the gates giving the :class:`Measured` slopes of ln λ* on ln ``x`` of
    ``runs`` chosen on ``metric`` (``nothing``: :func:`decaylab.optima.learned_nothing`): the
    primary ``vertex`` estimate and, exploratory, :func:`decaylab.optima.slopes`' statistics
    (each set of gates measured once)."""
    groups = optima.groups_of(runs, x)
    exploratory = functools.cache(
        lambda converged: optima.slopes(runs, x, metric, nothing, converged)
    )  # depends on one tolerance only: computed once per value of it, not per set of gates

    @functools.cache
    def measured(gates: Gates) -> Measured:
        estimates = assess(runs, x, metric, nothing, gates)

        def seed_difference(a: tuple, b: tuple) -> np.ndarray:
            return identity_check(estimates[a], estimates[b])

        return Measured(
            groups,
            slopes_table(estimates, groups, x).assign(selected_by=metric),
            exploratory(gates.converged),
            seed_difference,
            rows_table(estimates, groups, x),
        )

    return measured


def optimum_tables(runs: pd.DataFrame, x: str, metric: str, nothing, gates: Gates):
    """The optimum figure's and the slopes page's tables, and the :func:`measure` of ``runs``
    against ``x``, chosen on ``metric`` (``nothing`` as :func:`measure`'s) under ``gates``: the
    basin table (:func:`decaylab.optima.basin_table` with each row's vertex and
    gate, and the vertex as a timescale where the grid was one) and the slopes (the judged vertex
    estimate first, then the exploratory statistics)."""
    measured_by = measure(runs, x, metric, nothing)
    measured = measured_by(gates)
    basins = optima.basin_table(runs, x, metric, nothing, gates.converged)
    basins = basins.merge(measured.rows, on=[*measured.groups, x])
    if "argmin_timescale" in basins:  # τ = 1/(η·λ·M) at one η and M per x: τ ∝ 1/λ
        basins["vertex_timescale"] = (
            basins["argmin_timescale"] * basins["argmin"] / basins["vertex"]
        )
    slopes = pd.concat([measured.primary, measured.exploratory], ignore_index=True)
    return basins, slopes, measured_by

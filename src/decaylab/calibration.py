"""Does the λ*-slope interval mean what it says? Coverage and bias measured by simulation.

Synthetic surfaces with a known slope β, on an experiment's own grid of x and λ: row i's basin
is ``m(u) = floor + a·r·(u − v_si)²`` below its vertex and ``floor + a·(u − v_si)²`` above it,
capped at a network that learned nothing (``floor + cap``), with ``u = ln λ`` and the vertex
``v_si = c + β·(ln x_i − mean ln x) + τ·z_si`` (a seed's own shift, ``z ~ N(0, 1)``); each point
gets seed noise ``σ·ε`` and each seed and row a level offset ``o·ζ``. The curvature ``a``, the
noise ``σ``, the shift ``τ``, the offset ``o``, the centre ``c`` and the cap are measured on the
real runs (:func:`measure_basin`); ``r`` is 1 (symmetric) or smaller (a flat side, as a plain
network's basin is below λ*). :func:`coverage` draws surfaces, runs the estimator
(:mod:`decaylab.inference`) with its gates, and counts how often the 90 % and 95 % intervals hold
β. Not modelled: noise correlated along λ within a seed (real curves are smooth), and the
``trained`` gate (every simulated row trained).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab import inference, optima, refine


@dataclass(frozen=True)
class Basin:
    """The shape and noise of a basin (the module's symbols): ``curvature`` a, ``noise`` σ,
    ``shift`` τ, ``centre`` c, ``cap``, a seed's ``offset`` (the standard deviation of its
    level) and ``flatness`` r."""

    curvature: float
    noise: float
    shift: float
    centre: float
    cap: float
    offset: float
    flatness: float = 1.0


def simulate(xs, strengths, slope: float, basin: Basin, seeds: int, rng) -> np.ndarray:
    """One synthetic ``values[x, λ, seed]`` (lower is better) on the grid ``xs`` × ``strengths``
    (``strengths[x, λ]``) with true slope ``slope``."""
    vertex, offset = _seed_draws(xs, slope, basin, seeds, rng)
    return _values(np.log(strengths), vertex, offset, basin, rng)


def _seed_draws(xs, slope: float, basin: Basin, seeds: int, rng):
    """Each row's and seed's vertex ``v_si`` and level offset ``o·ζ``, ``(x, seed)`` each."""
    log_x = np.log(xs)
    centre = basin.centre + slope * (log_x - log_x.mean())
    vertex = centre[:, None] + basin.shift * rng.standard_normal((len(xs), seeds))
    return vertex, basin.offset * rng.standard_normal((len(xs), seeds))


def _values(u: np.ndarray, vertex, offset, basin: Basin, rng) -> np.ndarray:
    """The basin at ``u[x, λ]`` (ln λ) for the seeds' ``vertex`` and ``offset``, with fresh seed
    noise at every point: ``values[x, λ, seed]``."""
    distance = u[:, :, None] - vertex[:, None, :]
    rise = basin.curvature * np.where(distance < 0, basin.flatness, 1.0) * distance**2
    noise = basin.noise * rng.standard_normal(distance.shape)
    return np.minimum(rise, basin.cap) + offset[:, None, :] + noise


def simulate_refined(
    xs, strengths, slope, basin: Basin, seeds: int, rng, points, rounds, extend=None
):
    """As :func:`simulate`, then ``rounds`` refinement rounds of ``points`` values per row placed
    by :func:`decaylab.refine.new_values` on each round's seed means (``extend``: per row, whether
    its grid may grow below and above, as there), the same seeds' basins evaluated there: the
    grown ``(strengths, values)``, NaN- and +inf-padded."""
    vertex, offset = _seed_draws(xs, slope, basin, seeds, rng)
    rows = [np.asarray(s, float)[~np.isnan(s)] for s in strengths]
    found = [_values(np.log(r)[None], vertex[[i]], offset[[i]], basin, rng)[0]
             for i, r in enumerate(rows)]  # fmt: skip
    for _ in range(rounds):
        for i, (tried, values) in enumerate(zip(rows, found, strict=True)):
            edges = (True, True) if extend is None else extend[i]
            new, _ = refine.new_values(tried, values.mean(axis=1), points, edges)
            added = _values(np.log(new)[None], vertex[[i]], offset[[i]], basin, rng)[0]
            order = np.argsort(np.concatenate([tried, new]))
            rows[i] = np.concatenate([tried, new])[order]
            found[i] = np.concatenate([values, added])[order]
    width = max(len(r) for r in rows)
    grown = np.full((len(rows), width), np.nan)
    values = np.full((len(rows), width, seeds), np.inf)
    for i, (tried, points_found) in enumerate(zip(rows, found, strict=True)):
        grown[i, : len(tried)], values[i, : len(tried)] = tried, points_found
    return grown, values


def coverage(
    xs, strengths, slope: float, basin: Basin, seeds: int, draws: int, gates, seed=0, refine=None
):
    """Over ``draws`` simulated surfaces (:func:`simulate`, generator seeded by ``seed``; with
    ``refine`` ``{points, rounds}`` and optionally ``extend``, :func:`simulate_refined`'s: the
    adaptive grid is part of what is measured): the fraction whose 90 % and 95 % intervals hold
    ``slope``, the bias and the spread of the estimate, the median 95 % width, and the fraction
    of draws with an estimate. The simulated runs carry no cumulative decay: a claim with a
    ``decay`` gate is simulated on its rows' restricted grid with that gate off (D is fixed by
    the design, not by the outcome)."""
    rng = np.random.default_rng(seed)
    xs, strengths = np.asarray(xs, float), np.asarray(strengths, float)
    found = []
    for _ in range(draws):
        grid = strengths
        if refine:
            grid, values = simulate_refined(xs, strengths, slope, basin, seeds, rng,
                                            refine["points"], refine["rounds"],
                                            refine.get("extend"))  # fmt: skip
        else:
            values = simulate(xs, strengths, slope, basin, seeds, rng)
        surface = optima.Surface((), xs, grid, values, np.full((len(xs), seeds), np.nan))
        estimate = inference.estimate_group(surface, gates, basin.cap, None)
        found.append(inference.summarize(estimate.seed_slopes()))
    estimates = np.array([f["slope"] for f in found])
    usable = np.isfinite(estimates) & np.isfinite([f["ci95_low"] for f in found])
    kept = [f for f, keep in zip(found, usable, strict=True) if keep]

    def held(level):
        return float(np.mean([f[f"ci{level}_low"] <= slope <= f[f"ci{level}_high"] for f in kept]))

    return {
        "coverage90": held(90) if kept else np.nan,
        "coverage95": held(95) if kept else np.nan,
        "bias": float(np.mean(estimates[usable]) - slope) if kept else np.nan,
        "spread": float(np.std(estimates[usable])) if kept else np.nan,
        "width95": float(np.median([f["ci95_high"] - f["ci95_low"] for f in kept]))
        if kept
        else np.nan,
        "estimated": float(np.mean(usable)),
    }


def measure_basin(estimate: inference.GroupEstimate, surface: optima.Surface, cap: float, window):
    """A :class:`Basin` measured on one group's real runs (``surface``, its ``estimate``, two or
    more rows admitted): the median curvature of the seed-mean basin's quadratic over the
    admitted rows, the noise as the residual standard deviation of each seed's points about its
    own quadratic there, the shift as the standard deviation of the seeds' vertices about their
    row's mean (which holds some of the noise again: conservative), the offset as that of the
    seeds' mean levels about the row's, the centre as the mean vertex, and ``cap`` (a network
    that learned nothing, minus the best value)."""
    curvatures, residuals, shifts, levels = [], [], [], []
    for i in np.flatnonzero(estimate.admitted):
        tried = int(np.sum(~np.isnan(surface.strengths[i])))
        centre = int(np.nanargmin(surface.values[i, :tried].mean(axis=1)))
        near = slice(max(centre - window, 0), min(centre + window + 1, tried))
        u = np.log(surface.strengths[i, near])
        points = surface.values[i, near]
        curvatures.append(np.polyfit(u, points.mean(axis=1), 2)[0])
        for s in range(points.shape[1]):
            residuals.extend(points[:, s] - np.polyval(np.polyfit(u, points[:, s], 2), u))
        shifts.extend(estimate.log_vertex[i] - estimate.log_vertex[i].mean())
        levels.extend(points.mean(axis=0) - points.mean())
    seeds = surface.values.shape[2]
    dof = max(len(residuals) - 3 * len(curvatures) * seeds, 1)
    return Basin(
        curvature=float(np.median(curvatures)),
        noise=float(np.sqrt(np.sum(np.square(residuals)) / dof)),
        shift=float(np.std(shifts, ddof=1)),
        centre=float(np.mean(estimate.log_vertex[estimate.admitted])),
        cap=cap - float(np.nanmin(surface.values.mean(axis=2))),
        offset=float(np.std(levels, ddof=1)),
    )

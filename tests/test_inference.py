"""The judged λ*-slope estimator (per-seed quadratic vertices, gates, Student-t intervals) on
constructed surfaces whose slope is known, against closed forms; and its coverage, simulated."""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from decaylab import calibration, inference, optima

LEARNING_RATES = np.array([0.01, 0.0316, 0.1, 0.316, 1.0])
HALF_DECADES = np.logspace(-6, 0, 13)  # the digits decoupling grid
WORST = np.log(10)
GATES = inference.Gates()


def surface_of(values, strengths=None, train_loss=None):
    """An :class:`optima.Surface` of ``values[x, λ, seed]`` on the constructed grid."""
    rows, _, seeds = values.shape
    strengths = np.tile(HALF_DECADES, (rows, 1)) if strengths is None else strengths
    loss = np.full((rows, seeds), 0.01) if train_loss is None else train_loss
    return optima.Surface((), LEARNING_RATES[:rows], strengths, values, loss)


def bowls(slope, curvature=0.05, seeds=3, noise=0.0, shift=0.0, seed=0):
    """Quadratic basins in ln λ with vertices ``−7 + slope·(ln η0 − mean)`` (+ a seed's shift),
    plus independent noise per point."""
    rng = np.random.default_rng(seed)
    log_x = np.log(LEARNING_RATES)
    vertex = -7 + slope * (log_x - log_x.mean())
    vertex = vertex[:, None] + shift * rng.standard_normal((len(LEARNING_RATES), seeds))
    u = np.log(HALF_DECADES)[None, :, None]
    values = 0.2 + curvature * (u - vertex[:, None, :]) ** 2
    return values + noise * rng.standard_normal(values.shape), vertex


def test_t_interval_is_the_closed_form_for_two_degrees_of_freedom():
    # with 2 degrees of freedom the t quantile is (2p − 1)/√(2p(1 − p))
    values = np.array([0.3, -0.1, 0.5])
    for confidence in (0.90, 0.95):
        p = 0.5 + confidence / 2
        quantile = (2 * p - 1) / np.sqrt(2 * p * (1 - p))
        half = quantile * np.std(values, ddof=1) / np.sqrt(3)
        low, high = inference.t_interval(values, confidence)
        assert low == pytest.approx(values.mean() - half, rel=1e-12)
        assert high == pytest.approx(values.mean() + half, rel=1e-12)
    assert np.isnan(inference.t_interval(np.array([0.3]), 0.95)).all()


def test_a_quadratic_basin_gives_its_vertex_exactly_and_the_seeds_agree():
    values, vertex = bowls(slope=-1.0)
    found = inference.estimate_group(surface_of(values), GATES, WORST, None)
    np.testing.assert_allclose(found.log_vertex, vertex, atol=1e-9)
    assert found.admitted.all()
    np.testing.assert_allclose(found.seed_slopes(), -1.0, atol=1e-9)
    summary = inference.summarize(found.seed_slopes())
    assert summary["ci95_high"] - summary["ci95_low"] < 1e-9


def test_with_seed_noise_the_estimate_is_near_and_its_interval_has_width():
    values, _ = bowls(slope=1.0, seeds=5, noise=0.01, shift=0.2)
    found = inference.estimate_group(surface_of(values), GATES, WORST, None)
    summary = inference.summarize(found.seed_slopes())
    assert summary["ci90_low"] < summary["ci90_high"] < summary["ci95_high"]
    assert summary["ci95_low"] <= 1.0 <= summary["ci95_high"]
    assert summary["slope"] == pytest.approx(1.0, abs=0.3)


def test_the_slope_is_the_least_squares_slope_of_each_seeds_vertices():
    values, _ = bowls(slope=0.5, noise=0.02, shift=0.3, seed=3)
    found = inference.estimate_group(surface_of(values), GATES, WORST, None)
    for s in range(3):
        oracle = stats.linregress(np.log(LEARNING_RATES), found.log_vertex[:, s]).slope
        assert found.seed_slopes()[s] == pytest.approx(oracle, abs=1e-12)


def test_each_gate_leaves_out_the_row_that_fails_it():
    values, _ = bowls(slope=0.0, noise=1e-4)
    train_loss = np.full((5, 3), 0.01)
    train_loss[0] = 1.5  # η0 = 0.01 did not train
    values[1] += 1.0  # learned little: its best is far from the group's
    values[2] = 0.2 + 1e-5 * values[2] + np.array([0.0, 0.01, 0.02])  # flat under seed noise
    values[3, 6, 1] = np.inf  # a seed diverged next to λ* (ln λ* = −7: grid index 5.9)
    found = inference.estimate_group(surface_of(values, train_loss=train_loss), GATES, WORST, 2.3)
    assert list(found.failed) == ["trained", "learned", "resolved", "stable", ""]
    assert list(found.admitted) == [False, False, False, False, True]


def test_an_arg_min_on_the_grids_edge_is_left_out():
    _, vertex = bowls(slope=1.0)  # ln λ* = −7 + (ln η0 − mean): −9.3 … −4.7
    strengths = np.tile(np.logspace(-6, -3, 7), (5, 1))  # ln λ ≤ −6.9: the upper rows beyond
    u = np.log(strengths)[:, :, None]
    values = np.repeat(0.2 + 0.05 * (u - vertex[:, None, :1]) ** 2, 3, axis=2)
    found = inference.estimate_group(surface_of(values, strengths), GATES, WORST, None)
    nearest = np.argmin(np.abs(np.log(strengths) - vertex[:, :1]), axis=1)
    on_edge = nearest == strengths.shape[1] - 1
    np.testing.assert_array_equal(found.failed == "inside", on_edge)
    assert on_edge.any() and (~on_edge).sum() >= 2


def test_a_flat_basin_under_round_off_is_left_out_of_both_identical_algorithms():
    """Two groups that are one algorithm apart from round-off (SGD's l2 and decoupled_lr): on a
    basin flat to 1e-4 over the grid, round-off of 1e-8 would pick either arg-min; the gated
    estimator either gives both the same slope within 0.05 or leaves both out by one gate."""
    rng = np.random.default_rng(1)
    flat = 0.19 + 1e-4 * np.tanh(np.log(HALF_DECADES) + 3)[None, :, None]  # ≤ 1e-4 over λ
    flat = flat + 1e-3 * rng.standard_normal((5, 1, 3))  # seeds differ in level only
    first = np.broadcast_to(flat, (5, 13, 3)).copy()
    second = first + 1e-8 * rng.standard_normal(first.shape)
    a, b = (inference.estimate_group(surface_of(v), GATES, WORST, None) for v in (first, second))
    if a.admitted.sum() >= 2 and b.admitted.sum() >= 2:
        assert abs(np.mean(a.seed_slopes()) - np.mean(b.seed_slopes())) < 0.05
    else:
        np.testing.assert_array_equal(a.failed, b.failed)


def test_the_identity_check_pairs_seeds_over_the_rows_both_admit():
    values, _ = bowls(slope=0.0, noise=0.001, shift=0.1)
    shifted = np.empty_like(values)  # decoupled with λ is decoupled_lr with λ/η0: shift by ln η0
    u = np.log(HALF_DECADES)
    for i, lr in enumerate(LEARNING_RATES):
        for s in range(3):
            shifted[i, :, s] = np.interp(u - np.log(lr), u, values[i, :, s])
    a = inference.estimate_group(surface_of(shifted), GATES, WORST, None)
    b = inference.estimate_group(surface_of(values), GATES, WORST, None)
    difference = inference.identity_check(a, b)
    assert np.mean(difference) == pytest.approx(1.0, abs=0.1)


def test_the_95_percent_interval_covers_the_true_slope_in_simulation():
    """200 draws on the digits grid with a basin like the real runs': the 95 % interval holds
    the true slope in 0.88–0.99 of them, and the bias is small (the benchmark runs 1,000)."""
    basin = calibration.Basin(
        curvature=0.01, noise=0.017, shift=0.8, centre=-7.6, cap=2.2, offset=0.005
    )
    grid = np.tile(HALF_DECADES, (5, 1))
    found = calibration.coverage(LEARNING_RATES, grid, 0.0, basin, 3, 200, GATES, seed=0)
    assert 0.88 <= found["coverage95"] <= 0.99
    assert abs(found["bias"]) < 0.1
    assert found["estimated"] > 0.9


def test_the_interval_still_covers_when_a_refinement_round_adapts_the_grid():
    """The adaptive grid in the simulation: a round adds 4 values per row that bracket the
    seeds' mean vertex (noise-free basin), and with noise the 95 % interval still holds the true
    slope in 0.88–0.99 of 200 draws."""
    quiet = calibration.Basin(
        curvature=0.01, noise=0.0, shift=0.0, centre=-7.6, cap=2.2, offset=0.0
    )
    grid = np.tile(HALF_DECADES, (5, 1))
    rng = np.random.default_rng(1)
    grown, values = calibration.simulate_refined(
        LEARNING_RATES, grid, -1.0, quiet, 3, rng, points=4, rounds=1
    )
    assert grown.shape == (5, grid.shape[1] + 4) and np.isfinite(values).all()
    log_x = np.log(LEARNING_RATES)
    truth = -7.6 - (log_x - log_x.mean())
    for i in range(5):
        new = np.log(np.setdiff1d(grown[i], grid[i]))
        assert (new < truth[i]).sum() == 2 and (new > truth[i]).sum() == 2
    basin = dataclasses.replace(quiet, noise=0.017, shift=0.8, offset=0.005)
    found = calibration.coverage(LEARNING_RATES, grid, 0.0, basin, 3, 200, GATES, seed=0,
                                 refine={"points": 4, "rounds": 1})  # fmt: skip
    assert 0.88 <= found["coverage95"] <= 0.99
    assert abs(found["bias"]) < 0.1


def test_a_row_out_of_equilibrium_at_its_optimum_is_counted_and_left_out():
    """The ``equilibrated`` gate: a row passes where at least three λ reach D ≥ 2 on every seed
    and its arg-min's norm drifts by less than 5 %; the transient rows fail it, and without
    thresholds every row passes."""
    values, _ = bowls(slope=-1.0)
    surface = surface_of(values)
    decay = np.ones(values.shape) * np.array([0.5, 1.0, 3.0, 10.0, 30.0])[:, None, None]
    decay[2, :, 1] = 1.0  # one seed short of the threshold fails its row
    drift = np.full(values.shape, 0.01)
    drift[4] = 0.5  # the largest η0's norm still moves
    surface = optima.Surface((), surface.xs, surface.strengths, values, surface.train_loss,
                             decay, drift)  # fmt: skip
    gates = inference.Gates(decay=2.0, drift=0.05)
    found = inference.estimate_group(surface, gates, WORST, None)
    expected = np.array([False, False, False, True, False])
    np.testing.assert_array_equal(found.admitted, expected)
    assert set(found.failed[~expected]) == {"equilibrated"}
    assert inference.estimate_group(surface, GATES, WORST, None).admitted.all()


def test_the_grid_is_restricted_to_equilibrium_before_the_arg_min():
    """D = η0·λ·T grows with λ: each row keeps its λ from the first that reaches D ≥ 2, the
    restriction of the design, whatever the metric says (the arg-min is taken afterwards)."""
    values, _ = bowls(slope=-1.0)
    decay = (LEARNING_RATES[:, None, None] * HALF_DECADES[None, :, None] * 1e3) * np.ones(
        values.shape
    )
    surface = surface_of(values)
    surface = optima.Surface((), surface.xs, surface.strengths, values, surface.train_loss, decay)
    restricted = inference.equilibrium_grid(surface, 2.0)
    for i, lr in enumerate(LEARNING_RATES):
        expected = HALF_DECADES[lr * HALF_DECADES * 1e3 >= 2.0]
        kept = restricted.strengths[i][~np.isnan(restricted.strengths[i])]
        np.testing.assert_array_equal(kept, expected)
        np.testing.assert_array_equal(restricted.values[i, : len(kept)],
                                      values[i, len(HALF_DECADES) - len(kept) :])  # fmt: skip

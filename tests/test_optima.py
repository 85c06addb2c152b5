"""The statistics of λ*'s basin and their slopes, on constructed surfaces whose answer is known
exactly, against pandas, numpy's polyfit and scipy's linregress."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from decaylab import optima

LEARNING_RATES = np.logspace(-3, 0, 7)
STRENGTHS = np.logspace(-7, 2, 19)  # half-decades
NOTHING = optima.NothingLearned(metric=np.log(10), train_loss=np.log(10))


def constructed(surface, slopes: dict, noise=0.0, seeds=(0, 1, 2), train_loss=None):
    """Runs of one group per optimizer whose validation loss is ``surface(u, centre)`` with
    u = ln λ and centre = −4 + b·ln η0 (b from ``slopes``), plus seed noise; the training loss
    of every run is ``train_loss(η0)`` (0.01 unless given)."""
    rng = np.random.RandomState(0)
    rows = []
    for optimizer, b in slopes.items():
        for lr in LEARNING_RATES:
            centre = -4 + b * np.log(lr)
            for lam in STRENGTHS:
                for seed in seeds:
                    rows.append(
                        dict(
                            experiment="e",
                            optimizer=optimizer,
                            learning_rate=lr,
                            strength=lam,
                            seed=seed,
                            diverged=False,
                            validation_loss=surface(np.log(lam), centre) + noise * rng.normal(),
                            train_loss=train_loss(lr) if train_loss else 0.01,
                        )
                    )
    return pd.DataFrame(rows)


def bowl(u, centre):
    """A tilted bowl: a parabola in ln λ with its vertex at ``centre``."""
    return 0.2 + 0.05 * (u - centre) ** 2


RAMP = 2.5  # half-width in ln λ: more than two grid steps (a half-decade is ln √10 = 1.15)


def cliff(u, centre):
    """A sharp collapse edge: flat at 0.2, then linear in ln λ up to ln 10 (a network that
    learned nothing) over [centre − RAMP, centre + RAMP], so that halfway is at ``centre``."""
    return 0.2 + (np.log(10) - 0.2) * np.clip((u - centre + RAMP) / (2 * RAMP), 0, 1)


def row_of(table, optimizer, statistic):
    """The slope of ``statistic`` for ``optimizer`` (a group column only where it varies)."""
    mine = table[table["optimizer"] == optimizer] if "optimizer" in table else table
    return mine[mine["statistic"] == statistic].iloc[0]


def test_the_parabola_finds_a_tilted_bowls_vertex_between_grid_points_exactly():
    runs = constructed(bowl, {"sgd": -1.0, "adam": 0.5})
    found = optima.basin_table(runs, "learning_rate", "validation_loss", NOTHING)
    for optimizer, b in {"sgd": -1.0, "adam": 0.5}.items():
        mine = found[found["optimizer"] == optimizer]
        truth = np.exp(-4 + b * np.log(mine["learning_rate"]))
        np.testing.assert_allclose(mine["parabola"], truth, rtol=1e-9)
        assert not mine["parabola_flagged"].any()
    table = optima.slopes(runs, "learning_rate", "validation_loss", NOTHING)
    for optimizer, b in {"sgd": -1.0, "adam": 0.5}.items():
        row = row_of(table, optimizer, "parabola")
        assert row["slope"] == pytest.approx(b, abs=1e-9)
        # the arg-min moves by whole half-decades: only near b
        assert row_of(table, optimizer, "argmin")["slope"] == pytest.approx(b, abs=0.2)


def test_the_parabola_vertex_equals_numpys_fit_through_three_unequally_spaced_points():
    strengths = np.array([[1e-4, 3e-4, 2e-3, 1e-2]])
    means = np.array([[0.9, 0.4, 0.5, 0.8]])
    vertex, flagged = optima.parabola(means, strengths)
    a, b, _ = np.polyfit(np.log(strengths[0, :3]), means[0, :3], 2)
    assert vertex[0] == pytest.approx(np.exp(-b / (2 * a)), rel=1e-12)
    assert not flagged[0]


def test_a_collapse_edge_of_known_slope_is_found_exactly():
    runs = constructed(cliff, {"sgd": 1.0, "adam": 0.0})
    found = optima.basin_table(runs, "learning_rate", "validation_loss", NOTHING)
    for optimizer, b in {"sgd": 1.0, "adam": 0.0}.items():
        mine = found[found["optimizer"] == optimizer]
        truth = np.exp(-4 + b * np.log(mine["learning_rate"]))
        np.testing.assert_allclose(mine["edge"], truth, rtol=1e-9)
    table = optima.slopes(runs, "learning_rate", "validation_loss", NOTHING)
    assert row_of(table, "sgd", "edge")["slope"] == pytest.approx(1.0, abs=1e-9)
    assert row_of(table, "adam", "edge")["slope"] == pytest.approx(0.0, abs=1e-9)


def test_an_edge_that_never_crosses_inside_the_grid_is_flagged_and_left_out():
    runs = constructed(cliff, {"sgd": 1.0})
    runs = runs[runs["strength"] <= 1e-3]  # λ_c = e⁻⁴·η0 lies beyond 1e-3 for large η0
    found = optima.basin_table(runs, "learning_rate", "validation_loss", NOTHING)
    beyond = found["edge_flagged"].to_numpy()
    assert beyond.any() and not beyond.all()
    assert found.loc[beyond, "edge"].isna().all()
    row = row_of(optima.slopes(runs, "learning_rate", "validation_loss", NOTHING), "sgd", "edge")
    assert row["n_flagged"] == beyond.sum()
    assert row["n_fitted"] == (~beyond).sum()
    assert row["slope"] == pytest.approx(1.0, abs=1e-9)


def test_unconverged_rows_are_counted_and_left_out_of_every_fit():
    def train_loss(lr):  # the two smallest learning rates did not train in the budget
        return 1.5 if lr < 1e-2 else 0.01

    runs = constructed(bowl, {"sgd": -1.0}, train_loss=train_loss)
    # and under-training moved their optimum far off the line: a fit that kept them would tilt
    slow = runs["learning_rate"] < 1e-2
    runs.loc[slow, "validation_loss"] = bowl(np.log(runs.loc[slow, "strength"]), np.log(1e-7))
    found = optima.basin_table(runs, "learning_rate", "validation_loss", NOTHING)
    np.testing.assert_array_equal(found["converged"], found["learning_rate"] >= 1e-2)
    table = optima.slopes(runs, "learning_rate", "validation_loss", NOTHING)
    for statistic in ("argmin", "parabola"):
        row = row_of(table, "sgd", statistic)
        assert row["n_unconverged"] == int(slow.groupby(runs["learning_rate"]).any().sum())
        assert row["slope"] == pytest.approx(-1.0, abs=0.2)
    converged = optima.converged(np.array([[0.01], [0.02], [0.3]]), collapsed=np.log(10))
    np.testing.assert_array_equal(converged, [True, True, False])  # 0.3 > 0.01 + 0.1·2.29


def test_arg_min_is_the_best_mean_over_seeds_per_group_and_x():
    runs = constructed(bowl, {"sgd": -1.0, "adam": 0.0}, noise=0.3)
    found = optima.basin_table(runs, "learning_rate", "validation_loss")
    means = runs.groupby(["optimizer", "learning_rate", "strength"])["validation_loss"].mean()
    expected = means.groupby(level=[0, 1]).idxmin().map(lambda index: index[2])
    actual = found.set_index(["optimizer", "learning_rate"])["argmin"]
    pd.testing.assert_series_equal(actual.sort_index(), expected.sort_index(), check_names=False)


def test_arg_min_slope_is_the_least_squares_slope_of_the_interior_optima():
    runs = constructed(bowl, {"sgd": -1.0, "adam": 0.0}, noise=0.3)
    found = optima.basin_table(runs, "learning_rate", "validation_loss")
    table = optima.slopes(runs, "learning_rate", "validation_loss")
    for optimizer, group in found.groupby("optimizer"):
        inside = group[~group["argmin_flagged"]]
        oracle = stats.linregress(np.log(inside["learning_rate"]), np.log(inside["argmin"]))
        row = row_of(table, optimizer, "argmin")
        assert row["slope"] == pytest.approx(oracle.slope, abs=1e-10)


def test_an_arg_min_on_the_grid_edge_is_flagged_and_has_no_parabola():
    runs = constructed(bowl, {"sgd": -1.0})
    runs = runs[runs["strength"] <= 1.0]  # λ* = e⁻⁴/η0 lies above 1 for the small η0
    found = optima.basin_table(runs, "learning_rate", "validation_loss")
    edge = found["argmin_flagged"].to_numpy()
    assert edge.any() and not edge.all()
    np.testing.assert_array_equal(found["parabola_flagged"], edge)
    np.testing.assert_allclose(found.loc[edge, "argmin"], 1.0)


def test_a_diverged_run_is_never_the_optimum():
    runs = constructed(bowl, {"sgd": 0.0}, seeds=(0,))
    best = optima.basin_table(runs, "learning_rate", "validation_loss")["argmin"].iloc[0]
    broken = (runs["strength"] == best) & (runs["learning_rate"] == LEARNING_RATES[0])
    runs.loc[broken, "diverged"] = True
    runs.loc[broken, "validation_loss"] = -1.0  # a frozen value that would otherwise win
    again = optima.basin_table(runs, "learning_rate", "validation_loss")["argmin"].iloc[0]
    assert again != best


def test_accuracy_is_maximized_and_its_edge_is_halfway_to_chance():
    runs = constructed(cliff, {"sgd": 1.0})
    loss = runs["validation_loss"]
    runs["validation_accuracy"] = 1.0 - 0.9 * (loss - 0.2) / (np.log(10) - 0.2)  # 1 … 0.1
    nothing = optima.NothingLearned(metric=0.1, train_loss=np.log(10))
    table = optima.slopes(runs, "learning_rate", "validation_accuracy", nothing)
    assert row_of(table, "sgd", "edge")["slope"] == pytest.approx(1.0, abs=1e-9)


def test_learned_nothing_is_ln_c_for_c_classes_and_the_targets_spread_for_regression():
    labels = np.arange(10).repeat(3)
    nothing = optima.learned_nothing("validation_loss", labels, labels, "classification")
    assert nothing.metric == pytest.approx(np.log(10)) and nothing.train_loss == nothing.metric
    assert (
        optima.learned_nothing("validation_accuracy", labels, labels, "classification").metric
        == 0.1
    )
    y = np.array([1.0, 3.0])
    assert optima.learned_nothing("validation_mse", y, np.array([4.0]), "regression").metric == 4.0

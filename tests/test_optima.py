"""λ* and the slope of log λ* on log x, against pandas, scipy's linregress and closed forms."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from decaylab import optima

LEARNING_RATES = np.logspace(-3, 0, 6)
STRENGTHS = np.logspace(-7, 2, 19)


def constructed(slopes: dict, noise: float, seeds=(0, 1, 2)) -> pd.DataFrame:
    """Runs whose validation loss is (log λ − (−4 + b·log η0))² plus seed noise: the optimum
    λ* = e⁻⁴·η0ᵇ, a slope of b per optimizer."""
    rng = np.random.RandomState(0)
    rows = []
    for optimizer, b in slopes.items():
        for lr in LEARNING_RATES:
            for lam in STRENGTHS:
                for seed in seeds:
                    loss = (np.log(lam) - (-4 + b * np.log(lr))) ** 2 + noise * rng.normal()
                    rows.append(
                        dict(
                            experiment="e",
                            optimizer=optimizer,
                            learning_rate=lr,
                            strength=lam,
                            seed=seed,
                            diverged=False,
                            validation_loss=loss,
                        )
                    )
    return pd.DataFrame(rows)


def test_best_strength_is_the_best_mean_over_seeds_per_group_and_x():
    runs = constructed({"sgd": -1.0, "adam": 0.0}, noise=3.0)
    found = optima.optima(runs, "learning_rate", "validation_loss")
    means = runs.groupby(["optimizer", "learning_rate", "strength"])["validation_loss"].mean()
    expected = means.groupby(level=[0, 1]).idxmin().map(lambda index: index[2])
    actual = found.set_index(["optimizer", "learning_rate"])["best_strength"]
    pd.testing.assert_series_equal(actual.sort_index(), expected.sort_index(), check_names=False)


def test_slope_is_the_least_squares_slope_of_the_interior_optima():
    runs = constructed({"sgd": -1.0, "adam": 0.0}, noise=3.0)
    found = optima.optima(runs, "learning_rate", "validation_loss")
    table = optima.slopes(runs, "learning_rate", "validation_loss", resamples=200)
    for optimizer, group in found.groupby("optimizer"):
        inside = group[~group["at_edge"]]
        oracle = stats.linregress(np.log(inside["learning_rate"]), np.log(inside["best_strength"]))
        row = table[table["optimizer"] == optimizer].iloc[0]
        assert row["slope"] == pytest.approx(oracle.slope, abs=1e-10)
        assert row["ci95_low"] <= row["slope"] <= row["ci95_high"]
        assert row["n_seeds"] == 3


def test_noiseless_optima_recover_the_true_slopes_with_a_zero_width_interval():
    runs = constructed({"sgd": -1.0, "adam": 0.0}, noise=0.0)
    table = optima.slopes(runs, "learning_rate", "validation_loss", resamples=200)
    slopes = table.set_index("optimizer")
    # λ* = e⁻⁴·η0ᵇ exactly on a grid of half-decades, so the slope is b to the grid's resolution
    assert slopes.loc["sgd", "slope"] == pytest.approx(-1.0, abs=0.1)
    assert slopes.loc["adam", "slope"] == pytest.approx(0.0, abs=1e-12)
    assert (slopes["ci95_high"] - slopes["ci95_low"]).abs().max() < 1e-12  # seeds agree


def test_an_optimum_on_the_edge_of_the_grid_is_flagged_and_left_out():
    runs = constructed({"sgd": -1.0}, noise=0.0)
    runs = runs[runs["strength"] <= 1.0]  # λ* = e⁻⁴/η0 of the small learning rates lies above
    found = optima.optima(runs, "learning_rate", "validation_loss")
    edge = found["at_edge"].to_numpy()
    assert edge.any() and not edge.all()
    np.testing.assert_allclose(found.loc[edge, "best_strength"], 1.0)
    row = optima.slopes(runs, "learning_rate", "validation_loss", resamples=50).iloc[0]
    assert row["n_at_edge"] == edge.sum()
    inside = found[~edge]
    oracle = stats.linregress(np.log(inside["learning_rate"]), np.log(inside["best_strength"]))
    assert row["slope"] == pytest.approx(oracle.slope)


def test_a_diverged_run_is_never_the_optimum():
    runs = constructed({"sgd": 0.0}, noise=0.0, seeds=(0,))
    best = optima.optima(runs, "learning_rate", "validation_loss")["best_strength"].iloc[0]
    broken = (runs["strength"] == best) & (runs["learning_rate"] == LEARNING_RATES[0])
    runs.loc[broken, "diverged"] = True
    runs.loc[broken, "validation_loss"] = -1.0  # a frozen value that would otherwise win
    again = optima.optima(runs, "learning_rate", "validation_loss")["best_strength"].iloc[0]
    assert again != best


def test_one_seed_gives_a_slope_without_an_interval():
    runs = constructed({"sgd": -1.0}, noise=0.0, seeds=(0,))
    row = optima.slopes(runs, "learning_rate", "validation_loss").iloc[0]
    assert np.isfinite(row["slope"]) and np.isnan(row["ci95_low"])

"""The equilibrium's slope on constructed runs whose norms follow the closed form."""

import numpy as np
import pandas as pd
import pytest

from decaylab import claims, equilibrium, inference

UPDATES = 1000


def constructed(noise=0.0, seeds=(0, 1, 2)):
    """Runs whose kernels' norm is the equilibrium's ‖w‖⁴ = η/(2λ) where η·λ·T ≥ 1, and the
    initial norm 1 (never moved) below: only the first have the effective rate √(2ηλ)."""
    rng = np.random.RandomState(0)
    rows = []
    for lr in (0.01, 0.1, 1.0):
        for lam in (1e-5, 1e-4, 1e-3, 1e-2):
            for seed in seeds:
                settled = lr * lam * UPDATES >= 1
                norm = (lr / (2 * lam)) ** 0.25 if settled else 1.0
                rows.append(
                    dict(learning_rate=lr, strength=lam, seed=seed, diverged=False, epochs=10,
                         updates_per_epoch=UPDATES // 10, cumulative_decay=lr * lam * UPDATES,
                         weight_norm=norm * np.exp(noise * rng.normal()),
                         angular_update=np.sqrt(2 * lr * lam) * np.exp(noise * rng.normal())
                         if settled else 1e-3)
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_the_equilibrated_runs_give_slope_one_half_exactly():
    runs = constructed()
    row = equilibrium.slope(runs).iloc[0]
    assert row["slope"] == pytest.approx(0.5, abs=1e-12)
    assert row["ci95_high"] - row["ci95_low"] < 1e-9
    settled = (
        (runs["learning_rate"] * runs["strength"] * UPDATES >= 1)
        .groupby(runs["learning_rate"] * runs["strength"])
        .any()
    )
    assert row["n_fitted"] == settled.sum() and row["n_x"] == len(settled)


def test_runs_that_have_not_equilibrated_are_left_out():
    runs = constructed()
    everything = np.polyfit(
        np.log(runs["learning_rate"] * runs["strength"]),
        np.log(runs["learning_rate"] / runs["weight_norm"] ** 2),
        1,
    )[0]
    assert abs(everything - 0.5) > 0.05  # a fit over every run would be off: the filter matters


def test_seed_noise_gives_an_interval_and_a_verdict():
    row = equilibrium.slope(constructed(noise=0.05, seeds=range(5)))
    expect = {"equilibrium": {"value": 0.5, "statistic": "effective_rate"}}
    table = claims.judge("normalized", expect, lambda gates: inference.Measured([], row, row[:0]))
    assert table["ci90_low"].iloc[0] < 0.5 < table["ci90_high"].iloc[0]
    assert 0.25 < table["ci90_low"].iloc[0] and table["ci90_high"].iloc[0] < 0.75
    assert list(table["verdict"]) == [claims.AGREES]


def test_the_figure_draws_the_slope_its_claim_tests():
    """One computation per fact: the equilibrium figure's slope is the table's, fitted over
    the equilibrated runs (0.5 here), not a fit over every run (off by more than 0.05)."""
    import matplotlib

    matplotlib.use("Agg")
    from decaylab import figures

    runs = constructed(noise=0.05, seeds=range(3))
    table = equilibrium.slope(runs)
    expect = {"equilibrium": {"value": 0.5, "statistic": "effective_rate"}}
    claim = claims.judge("normalized", expect, equilibrium.measure(runs))["slope"].iloc[0]
    inputs = {"runs": runs, "equilibrium_slope": table}
    prepared = figures.prepare("equilibrium", inputs)
    assert prepared.notes["slope"] == claim
    title = figures.draw(prepared).axes[1].get_title()
    assert f"slope {claim:.2f} over" in title, title
    everything = np.polyfit(
        np.log(runs["learning_rate"] * runs["strength"]),
        np.log(runs["learning_rate"] / runs["weight_norm"] ** 2),
        1,
    )[0]
    assert f"{everything:.2f}" != f"{claim:.2f}"

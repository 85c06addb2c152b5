"""The identity checks on trained runs: under plain SGD, l2 and decoupled_lr are one algorithm
(their slopes equal), and for any optimizer decoupled with λ is decoupled_lr with λ/η0 (their
slopes differ by exactly 1) — the estimator, on real training, must find both."""

import numpy as np
import pandas as pd
import pytest

from decaylab import data, grid, inference, optima, runner

LEARNING_RATES = [0.0316, 0.1, 0.316, 1.0]
STRENGTHS = [float(f"{v:.3g}") for v in np.logspace(-5, 0, 11)]  # half-decades, as η0


@pytest.fixture(scope="module")
def runs():
    # a task where λ matters: 60 training points, a wide network, 900 updates
    train, validation, test = data.split_dataset(
        data.moons(n=200, noise=0.35, seed=0), validation_fraction=0.4, test_fraction=0.3, seed=0
    )
    experiment = {
        "dataset": "moons",
        "model": {"kind": "mlp", "hidden": [64, 64], "activation": "relu"},
        "optimizer": "sgd",
        "epochs": 300,
        "batch_size": 20,
        "shuffle": True,
        "learning_rate": LEARNING_RATES,
        "regularization": {"kind": ["l2", "decoupled_lr", "decoupled"], "strength": STRENGTHS},
        "seeds": [0, 1, 2],
    }
    tables = []
    for shard in grid.shards("identities", experiment):
        tables.append(runner.train(shard.as_params(), train, test, validation=validation).runs)
    return pd.concat(tables, ignore_index=True)


def test_the_estimator_finds_both_identities_on_trained_runs(runs):
    nothing = optima.NothingLearned(metric=np.log(2), train_loss=np.log(2))
    measured = inference.measure(runs, "learning_rate", "validation_loss", nothing)(
        inference.Gates()
    )
    same = measured.seed_difference(("decoupled_lr",), ("l2",))
    shifted = measured.seed_difference(("decoupled",), ("decoupled_lr",))
    assert np.isfinite(same).all() and np.isfinite(shifted).all(), "no two rows both admitted"
    # the estimates (the seeds' means); one seed alone may move by 0.1 where η0 = 1 is unstable
    assert abs(np.mean(same)) < 0.05  # one algorithm, up to round-off
    assert abs(np.mean(shifted) - 1) < 0.1  # λ/η0 exactly, on grids aligned to η0's steps

"""The engine against an exact float64 NumPy reference, to 1e-12.

Every optimizer; every regularization kind and several schedules as per-run choices inside one
shard (so the per-run selection is checked too); shuffled mini-batches with a partial last
batch. Keras's own optimizers (``test_keras_parity.py``) are the second oracle, at a looser
tolerance that absorbs Keras's float64 round-off, not ours.
"""

import itertools

import numpy as np
import numpy_reference
import pytest
from conftest import weights

from decaylab import models
from decaylab.engine import ShardConfig, train_shard

EPOCHS, BATCH = 8, 16  # 40 training rows: batches of 16, 16 and 8
SPEC = models.ModelSpec(kind="mlp", hidden=(5,), activation="tanh")
HYPERPARAMETERS = {
    "sgd": {},
    "momentum": {"momentum": 0.8},
    "adam": {"beta_1": 0.85, "beta_2": 0.99, "epsilon": 1e-7},
    "rmsprop": {"rho": 0.8, "momentum": 0.3, "epsilon": 1e-7},
    "adagrad": {"initial_accumulator_value": 0.2, "epsilon": 1e-7},
}
SCHEDULE_HP = {
    "constant": {},
    "inverse_sqrt": {"decay_rate": 0.3},
    "exponential_per_epoch": {"decay_rate": 0.1},
    "cosine": {"decay_steps": 20, "alpha": 0.1},
}
REGULARIZATIONS = ["none", "l2", "l1", "decoupled_lr", "decoupled"]


def shard_runs(optimizer):
    runs = []
    for seed, (schedule, regularization) in enumerate(
        itertools.product(SCHEDULE_HP, REGULARIZATIONS)
    ):
        runs.append(
            {
                "schedule": schedule,
                "regularization": regularization,
                "learning_rate": 0.05 if optimizer in ("sgd", "momentum") else 0.01,
                "strength": 0.0 if regularization == "none" else 0.05 + 0.01 * seed,
                "seed": seed,
                **HYPERPARAMETERS[optimizer],
                **SCHEDULE_HP[schedule],
            }
        )
    return runs


@pytest.mark.parametrize(
    "optimizer, nesterov, n_runs",
    [("sgd", False, 20), ("momentum", False, 20), ("momentum", True, 20), ("adam", False, 20)]
    + [("rmsprop", False, 20), ("adagrad", False, 20)]
    + [("adam", False, 17)],  # compiled for 18 runs (decaylab.shard.bucket): one padding run
)
def test_engine_matches_the_exact_numpy_reference(small_regression, optimizer, nesterov, n_runs):
    train, test = small_regression
    config = ShardConfig(
        model=SPEC,
        optimizer=optimizer,
        nesterov=nesterov,
        epochs=EPOCHS,
        batch_size=BATCH,
        shuffle=True,
        dtype="float64",
    )
    runs = shard_runs(optimizer)[:n_runs]
    result = train_shard(train, test, config, runs, device="cpu")
    assert len(result.runs) == n_runs and len(result.params[0]["kernel"]) == n_runs
    sizes = [train.x.shape[1], *SPEC.hidden, 1]
    for k, run in enumerate(runs):
        full = {
            "alpha": 0.0,
            "momentum": 0.9 if optimizer == "momentum" else 0.0,
            **run,
        }
        expected = numpy_reference.train(
            train.x, train.y, sizes, optimizer, full, EPOCHS, BATCH, True, nesterov
        )
        for got, want in zip(
            weights(result.params), [p for layer in expected for p in layer], strict=True
        ):
            np.testing.assert_allclose(
                got[k], want, rtol=1e-12, atol=1e-12 * np.abs(want).max(), err_msg=str(run)
            )
    initial = weights(models.init_params(SPEC, (sizes[0],), 1, [0]))[0][0]
    assert not np.allclose(weights(result.params)[0][0], initial)  # the runs really trained

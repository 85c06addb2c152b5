"""The engine against independent oracles: scikit-learn's ridge, Keras's optimizers, itself."""

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import relative_error, weights
from sklearn.linear_model import Ridge

from decaylab import backend, chunk, data, engine, equilibrium, models, results, shard
from decaylab.engine import ShardConfig, train_shard


@pytest.mark.parametrize("strength", [0.0, 0.01, 0.1, 1.0])
def test_full_batch_gradient_descent_with_l2_reaches_the_ridge_solution(article, strength):
    train, test = article
    n = len(train.y)
    config = ShardConfig(
        epochs=3000, batch_size=n, regularization="l2", dtype="float64", history_stride=3000
    )
    result = train_shard(train, test, config, [{"learning_rate": 0.5, "strength": strength}])
    ridge = Ridge(alpha=n * strength).fit(train.x, train.y[:, 0])
    run = result.runs.iloc[0]
    assert relative_error(run["kernel"], ridge.coef_[0]) < 1e-4
    assert relative_error(run["bias"], ridge.intercept_) < 1e-4
    assert run["test_mse"] == pytest.approx(
        np.mean((ridge.predict(test.x) - test.y[:, 0]) ** 2), rel=1e-4
    )


def test_reported_metrics_are_those_of_the_learned_parameters(moons):
    train, test = moons
    spec = models.ModelSpec(kind="mlp", hidden=(8,), activation="tanh")
    config = ShardConfig(model=spec, optimizer="adam", epochs=20, batch_size=16, shuffle=True)
    result = train_shard(train, test, config, [{"learning_rate": 0.01, "seed": 3}])
    w1, b1, w2, b2 = (p[0].astype(float) for p in weights(result.params))
    logits = np.tanh(test.x @ w1 + b1) @ w2 + b2
    log_prob = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    run = result.runs.iloc[0]
    assert run["test_accuracy"] == pytest.approx(np.mean(logits.argmax(1) == test.y))
    assert run["test_loss"] == pytest.approx(-log_prob[np.arange(len(test.y)), test.y].mean(), 1e-5)
    assert run["weight_norm"] == pytest.approx(np.sqrt((w1**2).sum() + (w2**2).sum()), 1e-5)


def test_sgd_l2_and_decoupled_lr_give_the_same_trajectory(small_regression):
    train, test = small_regression
    runs = [{"learning_rate": 0.05, "strength": 0.3, "decay_rate": 0.5, "decay_steps": 20}]
    results = [
        train_shard(
            train,
            test,
            ShardConfig(epochs=40, batch_size=16, schedule="exponential", regularization=kind),
            runs,
        )
        for kind in ("l2", "decoupled_lr")
    ]
    np.testing.assert_allclose(
        results[0].history["weight_norm"], results[1].history["weight_norm"], rtol=1e-5
    )
    for a, b in zip(weights(results[0].params), weights(results[1].params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_adam_l2_and_decoupled_lr_differ(small_regression):
    train, test = small_regression
    runs = [{"learning_rate": 0.05, "strength": 0.3}]
    norms = [
        train_shard(
            train,
            test,
            ShardConfig(optimizer="adam", epochs=40, batch_size=16, regularization=kind),
            runs,
        ).runs["weight_norm"][0]
        for kind in ("l2", "decoupled_lr")
    ]
    assert abs(norms[0] - norms[1]) > 0.05 * norms[0]


def test_decoupled_is_scaled_by_the_schedule_multiplier_only(small_regression):
    """Loshchilov & Hutter: η0·λ' = λ with decoupled_lr gives the same run as λ' with decoupled."""
    train, test = small_regression

    def run(kind, strength):
        config = ShardConfig(
            optimizer="adam", epochs=10, batch_size=16, schedule="cosine", regularization=kind
        )
        hp = {"learning_rate": 0.02, "decay_steps": 30, "strength": strength}
        return weights(train_shard(train, test, config, [hp]).params)

    for a, b in zip(run("decoupled", 0.02 * 5.0), run("decoupled_lr", 5.0), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


GRID_RUNS = [
    {"learning_rate": lr, "strength": strength, "seed": seed, "beta_1": beta_1}
    for lr, strength, seed, beta_1 in [
        (0.01, 0.0, 0, 0.9),
        (0.03, 0.1, 1, 0.8),
        (0.003, 0.01, 2, 0.9),
        (0.02, 0.5, 0, 0.95),
        (0.01, 0.05, 7, 0.5),
    ]
]


def _mlp_shard(moons, runs):
    spec = models.ModelSpec(kind="mlp", hidden=(16, 8), activation="relu")
    config = ShardConfig(
        model=spec,
        optimizer="adam",
        schedule="cosine",
        regularization="decoupled",
        epochs=15,
        batch_size=32,
        shuffle=True,
        history_stride=5,
    )
    train, test = moons
    runs = [{**run, "decay_steps": 45} for run in runs]
    return train_shard(train, test, config, runs)


def test_a_shard_equals_its_runs_trained_alone_in_any_order(moons):
    together = _mlp_shard(moons, GRID_RUNS)
    reversed_order = _mlp_shard(moons, GRID_RUNS[::-1])
    for k, run in enumerate(GRID_RUNS):
        alone = _mlp_shard(moons, [run])
        for stacked, reversed_stacked, single in zip(
            weights(together.params),
            weights(reversed_order.params),
            weights(alone.params),
            strict=True,
        ):
            np.testing.assert_allclose(stacked[k], single[0], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(stacked[k], reversed_stacked[-1 - k], rtol=1e-6, atol=1e-6)
        metrics = ["train_loss", "test_loss", "test_accuracy", "weight_norm"]
        np.testing.assert_allclose(
            together.runs.loc[k, metrics].astype(float),
            alone.runs.loc[0, metrics].astype(float),
            rtol=1e-6,
            atol=1e-6,
        )


def test_the_same_shard_twice_is_bit_identical(moons):
    first, second = _mlp_shard(moons, GRID_RUNS), _mlp_shard(moons, GRID_RUNS)
    for a, b in zip(weights(first.params), weights(second.params), strict=True):
        assert np.array_equal(a, b)
    pd.testing.assert_frame_equal(first.runs, second.runs)
    pd.testing.assert_frame_equal(first.history, second.history)


def test_a_diverging_run_is_frozen_and_leaves_the_others_alone(article):
    train, test = article
    config = ShardConfig(epochs=200, batch_size=32, regularization="l2", history_stride=50)
    sane = [{"learning_rate": 0.01, "strength": 0.01}, {"learning_rate": 0.1, "strength": 0.1}]
    wild = {"learning_rate": 10.0, "strength": 0.01}
    shard = train_shard(train, test, config, [sane[0], wild, sane[1]])
    assert shard.runs["diverged"].tolist() == [False, True, False]
    assert 0 <= shard.runs["diverged_epoch"][1] < 200
    assert all(np.isfinite(p[1]).all() for p in weights(shard.params))
    for k, run in zip((0, 2), sane, strict=True):
        alone = train_shard(train, test, config, [run])
        for stacked, single in zip(weights(shard.params), weights(alone.params), strict=True):
            np.testing.assert_allclose(stacked[k], single[0], rtol=1e-6)
        assert shard.runs["test_mse"][k] == pytest.approx(alone.runs["test_mse"][0], rel=1e-6)


def test_history_is_recorded_at_the_stride_and_at_the_end(article):
    train, test = article
    config = ShardConfig(
        epochs=25, batch_size=32, schedule="exponential_per_epoch", history_stride=10
    )
    result = train_shard(train, test, config, [{"learning_rate": 0.01, "decay_rate": 0.1}] * 2)
    assert result.history["epoch"].tolist() == [0, 10, 20, 25] * 2
    last = result.history.query("epoch == 25")
    # the rate of the last step of epoch 25 (0-based epoch 24) is η0·0.9^24
    np.testing.assert_allclose(last["scheduled_learning_rate"], 0.01 * 0.9**24, rtol=1e-6)
    np.testing.assert_allclose(result.runs["final_learning_rate"], 0.01 * 0.9**24, rtol=1e-6)
    np.testing.assert_allclose(last["test_loss"], result.runs["test_mse"], rtol=1e-6)


@pytest.fixture
def history_columns_reversed(monkeypatch):
    """``HISTORY_COLUMNS`` in reverse order wherever it is read, with a chunk compiled for it
    (and dropped afterwards)."""
    reversed_columns = shard.HISTORY_COLUMNS[::-1]
    for module in (shard, chunk, results, engine, equilibrium):
        monkeypatch.setattr(module, "HISTORY_COLUMNS", reversed_columns)
    chunk.compiled_chunk.cache_clear()
    yield reversed_columns
    chunk.compiled_chunk.cache_clear()


def test_history_records_are_built_by_column_name(article, request):
    train, test = article
    config = ShardConfig(epochs=12, batch_size=32, schedule="exponential_per_epoch",
                         regularization="l2", history_stride=5)  # fmt: skip
    runs = [{"learning_rate": 0.02, "decay_rate": 0.1, "strength": s} for s in (0.0, 0.1)]
    expected = train_shard(train, test, config, runs)
    reversed_columns = request.getfixturevalue("history_columns_reversed")
    result = train_shard(train, test, config, runs)
    assert tuple(result.history.columns[-len(reversed_columns) :]) == reversed_columns
    pd.testing.assert_frame_equal(result.history[expected.history.columns], expected.history)
    pd.testing.assert_frame_equal(result.runs[expected.runs.columns], expected.runs)


def test_train_shard_called_again_and_again_retraces_nothing(small_regression):
    """Shards of other seeds, strengths and epochs share one compiled chunk, so TensorFlow's
    "triggered tf.function retracing" warning (5 traces in about 10 calls) is never logged."""
    train, test = small_regression
    logged = []
    handler = logging.Handler()
    handler.emit = lambda record: logged.append(record.getMessage())
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    misses = chunk.compiled_chunk.cache_info().misses
    try:
        for i, epochs in enumerate(range(8, 14)):  # 9 to 14 records: one capacity, 16 epochs
            config = ShardConfig(epochs=epochs, batch_size=16, regularization="l2")
            runs = [{"learning_rate": 0.05, "strength": 0.01 * i, "seed": i}]
            train_shard(train, test, config, runs)
    finally:
        logger.removeHandler(handler)
    assert not [message for message in logged if "retracing" in message]
    assert chunk.compiled_chunk.cache_info().misses - misses <= 1


@pytest.mark.parametrize(
    "config, runs, field",
    [
        (dict(optimizer="lion"), [{}], "optimizer"),
        (dict(schedule="linear_warmup"), [{}], "schedule"),
        (dict(regularization="l3"), [{}], "regularization"),
        (dict(epochs=0), [{}], "epochs"),
        (dict(batch_size=500), [{}], "batch_size"),
        (dict(), [{"learning_rate": 0.0}], "learning_rate"),
        (dict(), [{"learning_rate": -1}], "learning_rate"),
        (dict(), [{"strength": -0.1}], "strength"),
        (dict(), [{"momentum": 1.5}], "momentum"),
        (dict(), [{"seed": 1.5}], "seed"),
        (dict(), [{"learning_rate": "fast"}], "learning_rate"),
        (dict(), [{"lerning_rate": 0.1}], "lerning_rate"),
        (dict(), [], "at least one run"),
        (dict(schedule="exponential_per_epoch"), [{"decay_rate": 1.0}], "decay_rate"),
        (dict(schedule="piecewise", boundaries=(10,), factors=(1.0,)), [{}], "factors"),
        (dict(model=dict(kind="mlp", hidden=())), [{}], "hidden"),
        (dict(model=dict(kind="mlp", hidden=(4,), activation="swishy")), [{}], "activation"),
        (dict(model=dict(kind="tree")), [{}], "model"),
    ],
)
def test_bad_input_names_the_field(article, config, runs, field):
    train, test = article
    with pytest.raises(ValueError, match=field):
        if "model" in config:
            config = {**config, "model": models.ModelSpec(**config["model"])}
        train_shard(train, test, ShardConfig(**config), runs)


def test_the_device_is_recorded_and_a_missing_gpu_is_an_error(article):
    train, test = article
    config = ShardConfig(epochs=2)
    result = train_shard(train, test, config, [{}], device="auto")
    if backend.gpu_names():
        assert result.device == f"{backend.NAME}:{backend.gpu_names()[0]}"
        assert train_shard(train, test, config, [{}], device="gpu").device == result.device
    else:
        assert result.device == f"{backend.NAME}:cpu"
        with pytest.raises(RuntimeError, match="device: gpu was asked for"):
            train_shard(train, test, config, [{}], device="gpu")
    assert train_shard(train, test, config, [{}], device="cpu").device == f"{backend.NAME}:cpu"


def test_a_one_dimensional_target_is_one_output_everywhere(article):
    train, test = article
    flat = [data.Dataset(d.x, d.y[:, 0], d.task) for d in (train, test)]
    result = train_shard(*flat, ShardConfig(epochs=30), [{"learning_rate": 0.05}])
    kernel, bias = result.params[0]["kernel"][0], result.params[0]["bias"][0]
    expected = np.mean((test.x @ kernel + bias - test.y) ** 2)
    assert result.runs["test_mse"][0] == pytest.approx(expected, rel=1e-5)

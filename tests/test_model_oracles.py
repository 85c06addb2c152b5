"""The CNN and the normalized networks against the equivalent Keras models, and a linear
softmax on ``digits`` against scikit-learn.

Outputs and gradients: every run of a K = 2 stack equals the Keras model given that run's
weights (1e-6, float64), so the grouped convolution mixes no runs. Training: one CNN run trained
by the engine ends where Keras's ``fit`` ends.
"""

import keras
import numpy as np
import pytest
from keras import ops

from decaylab import backend, data, models, sources
from decaylab.chunk import example_losses
from decaylab.engine import ShardConfig, train_shard

SPECS = {
    "cnn1d": (models.ModelSpec("cnn", filters=(3, 4), kernel_size=3, hidden=(5,)), (12, 2)),
    "cnn2d": (models.ModelSpec("cnn", filters=(3,), kernel_size=3, pool=2), (6, 6, 1)),
    "cnn1d_layer": (
        models.ModelSpec("cnn", filters=(4,), kernel_size=5, hidden=(6,), normalization="layer"),
        (10, 1),
    ),
    "cnn2d_batch": (
        models.ModelSpec("cnn", filters=(3, 2), pool=1, normalization="batch"),
        (5, 4, 2),
    ),
    "mlp_layer": (models.ModelSpec("mlp", hidden=(7, 5), normalization="layer"), (6,)),
    "mlp_batch": (
        models.ModelSpec("mlp", hidden=(7,), activation="elu", normalization="batch"),
        (6,),
    ),
}
N_OUT, BATCH = 3, 9
# Keras's JAX ops.mean sums float64 in float32, so its LayerNorm and BatchNorm (and its mean
# loss) are ~1e-7 off exact under JAX; ours are exact on both backends (they agree to 1e-15)
ON_JAX = keras.backend.backend() == "jax"
TOLERANCE = 1e-5 if ON_JAX else 1e-6
SCALE_TOLERANCE = 1e-5 if ON_JAX else 1e-9
"""Absolute tolerance of a gradient entry, relative to its tensor's largest entry."""


pytestmark = pytest.mark.usefixtures("keras_in_float64")


def keras_model(spec: models.ModelSpec, input_shape, n_out=N_OUT, regularizer=None):
    """The Keras model our ``spec`` stands for (``regularizer`` on every kernel)."""
    conv = {2: keras.layers.Conv1D, 3: keras.layers.Conv2D}.get(len(input_shape))
    pool = {2: keras.layers.MaxPooling1D, 3: keras.layers.MaxPooling2D}.get(len(input_shape))
    normed = spec.normalization != "none"

    def normalization():
        if spec.normalization == "layer":
            return [keras.layers.LayerNormalization(epsilon=models.EPSILON)]
        if spec.normalization == "batch":
            return [
                keras.layers.BatchNormalization(momentum=models.MOMENTUM, epsilon=models.EPSILON)
            ]
        return []

    layers = [keras.Input(input_shape)]
    if spec.kind == "cnn":
        for width in spec.filters:
            layers += [
                conv(
                    width,
                    spec.kernel_size,
                    padding="same",
                    use_bias=not normed,
                    kernel_regularizer=regularizer,
                )
            ]
            layers += [*normalization(), keras.layers.Activation(spec.activation)]
            if spec.pool > 1:
                layers.append(pool(spec.pool))
        layers.append(keras.layers.Flatten())
    for width in spec.hidden:
        dense = keras.layers.Dense(width, use_bias=not normed, kernel_regularizer=regularizer)
        layers += [dense, *normalization()]
        layers.append(keras.layers.Activation(spec.activation))
    layers.append(keras.layers.Dense(n_out, kernel_regularizer=regularizer))
    return keras.Sequential(layers)


def keras_weights(stacked, run):
    """Run ``run``'s values in Keras's ``get_weights`` order."""
    order = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")
    return [layer[name][run] for layer in stacked for name in order if name in layer]


def random_stack(spec, input_shape, seed=0):
    """Initial values of 2 runs with random γ, β, biases and running statistics (not the
    constants they start from), so that every value is tested."""
    stacked = models.init_params(spec, input_shape, N_OUT, [seed, seed + 1])
    rng = np.random.RandomState(seed + 7)
    for layer in stacked:
        for name, value in layer.items():
            if name == "moving_variance":
                layer[name] = rng.uniform(0.5, 2.0, value.shape)
            elif name != "kernel":
                layer[name] = rng.normal(size=value.shape) + (name == "gamma")
    return stacked


def inputs(input_shape, seed=1):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(2, BATCH, *input_shape))
    y = np.eye(N_OUT)[rng.randint(N_OUT, size=(2, BATCH))]
    return x, y


def keras_gradients(model, x, y):
    """Loss (mean cross-entropy, training mode) and its gradients of a Keras model."""
    trainable = [ops.convert_to_tensor(v.value) for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def loss(values):
        logits, moved = model.stateless_call(values, fixed, x, training=True)
        return ops.mean(example_losses(logits, y, True)), moved

    (value, moved), grads = backend.value_and_grad(loss)(trainable)
    return value, grads, moved


@pytest.mark.parametrize("name", list(SPECS))
def test_outputs_and_gradients_equal_keras_for_each_run(name):
    spec, input_shape = SPECS[name]
    stacked = random_stack(spec, input_shape)
    params, statistics = models.split_statistics(
        [{name: ops.convert_to_tensor(v) for name, v in layer.items()} for layer in stacked]
    )
    x, y = (ops.convert_to_tensor(a) for a in inputs(input_shape))
    ours = ops.convert_to_numpy(models.apply(spec, params, x, statistics))

    def objective(params, statistics):
        outputs, moved = models.forward(spec, params, statistics, x, ops.ones((BATCH,)))
        per_run = ops.mean(example_losses(outputs, y, True), axis=1)
        return ops.sum(per_run), (per_run, moved)

    (_, (per_run, moved)), grads = backend.value_and_grad(objective)(params, statistics)
    for run in range(2):
        model = keras_model(spec, input_shape)
        model.set_weights(keras_weights(stacked, run))
        expected = ops.convert_to_numpy(model(x[run], training=False))
        assert not np.allclose(expected, ours[1 - run])  # the runs differ: not vacuous
        np.testing.assert_allclose(ours[run], expected, rtol=TOLERANCE, atol=1e-9)
        value, expected_grads, expected_moved = keras_gradients(model, x[run], y[run])
        assert float(per_run[run]) == pytest.approx(float(value), rel=TOLERANCE)
        ours_grads = [  # in our layers' order (JAX returns dicts with sorted keys)
            ops.convert_to_numpy(grads[i][name])[run]
            for i, layer in enumerate(params)
            for name in layer
        ]
        assert len(ours_grads) == len(expected_grads)
        for got, want in zip(ours_grads, expected_grads, strict=True):
            want = ops.convert_to_numpy(want)
            np.testing.assert_allclose(
                got, want, rtol=TOLERANCE, atol=SCALE_TOLERANCE * np.abs(want).max()
            )
        ours_moved = [
            ops.convert_to_numpy(layer[name])[run]
            for layer in moved
            for name in models.STATISTICS
            if name in layer
        ]
        for got, want in zip(ours_moved, expected_moved, strict=True):
            np.testing.assert_allclose(got, ops.convert_to_numpy(want), rtol=TOLERANCE)


def test_a_batch_normalized_cnn_follows_keras_fit():
    """Conv1D + BatchNorm + pooling + dense head, Adam with l2, shuffled mini-batches with a
    partial last one: the engine's run ends where Keras's ``fit`` ends (weights and running
    statistics) — and the running statistics moved, so the test is not vacuous."""
    dataset = sources.mnist1d(n=60, length=16, seed=3)
    parts = data.split_dataset(dataset, test_fraction=1 / 3)  # 40 training rows: 16, 16, 8
    spec = models.ModelSpec(
        "cnn", filters=(4,), kernel_size=3, hidden=(6,), normalization="batch", activation="relu"
    )
    epochs, batch, eta, strength = 6, 16, 0.01, 0.01
    config = ShardConfig(
        model=spec,
        optimizer="adam",
        regularization="l2",
        epochs=epochs,
        batch_size=batch,
        dtype="float64",
    )
    ours = train_shard(
        parts.train, parts.test, config, [{"learning_rate": eta, "strength": strength, "seed": 5}]
    )
    initial = models.init_params(spec, dataset.input_shape, 10, [5])
    model = keras_model(spec, dataset.input_shape, 10, keras.regularizers.L2(strength / 2))
    model.set_weights(keras_weights(initial, 0))
    model.compile(
        keras.optimizers.Adam(np.float64(eta)),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
    )
    x = parts.train.x.reshape(len(parts.train.x), *dataset.input_shape)
    y = np.eye(10)[parts.train.y]
    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    expected = model.get_weights()
    got = keras_weights(ours.params, 0)
    assert len(got) == len(expected)
    for ours_value, want in zip(got, expected, strict=True):
        # Keras's Adam is ~1e-6 off exact arithmetic (see test_keras_parity.py), and Adam's
        # normalization amplifies that in entries whose gradients hover near zero: relative to
        # each tensor's scale
        np.testing.assert_allclose(ours_value, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    moving_mean = ours.params[0]["moving_mean"][0]
    assert np.abs(moving_mean).max() > 1e-3


def test_linear_softmax_on_digits_converges_to_scikit_learn():
    """Full-batch gradient descent with Nesterov momentum on ``mean CE + λ/2·‖W‖²`` reaches
    ``LogisticRegression(C = 1/(n·λ))`` (multinomial, unpenalized intercepts)."""
    from sklearn.linear_model import LogisticRegression

    parts = data.split_dataset(
        sources.digits(), test_fraction=0.2, shuffle=True, stratify=True, standardize=True
    )
    n, strength = len(parts.train.y), 0.01
    config = ShardConfig(
        model=models.ModelSpec("linear"),
        optimizer="momentum",
        nesterov=True,
        regularization="l2",
        epochs=3000,
        batch_size=n,
        history_stride=3000,
        dtype="float64",
    )
    ours = train_shard(
        parts.train,
        parts.test,
        config,
        [{"learning_rate": 0.1, "momentum": 0.9, "strength": strength, "seed": 0}],
    )
    reference = LogisticRegression(C=1 / (n * strength), tol=1e-12, max_iter=100_000)
    reference.fit(parts.train.x, parts.train.y)
    kernel, bias = ours.params[0]["kernel"][0], ours.params[0]["bias"][0]
    np.testing.assert_allclose(kernel, reference.coef_.T, atol=1e-4)
    # the intercepts are defined up to a common shift (softmax), and not penalized
    np.testing.assert_allclose(
        bias - bias.mean(), reference.intercept_ - reference.intercept_.mean(), atol=1e-4
    )
    logits = parts.test.x @ kernel + bias
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, reference.predict_proba(parts.test.x), atol=1e-4)

"""Normalized networks: a scale-invariant network trained from weights scaled by √c with
(c·η, λ/c) computes the same function at every step as from the original weights with (η, λ)
(van Laarhoven, 2017; Li & Arora, 2020).

For f(c·W) = f(W), the gradient scales as ∇f(√c·W) = ∇f(W)/√c, so one SGD step with an L2
penalty, W' = W − η(∇f(W) + λW), maps √c·W to √c·W' under (c·η, λ/c). The statement is exact
when normalization's ε is 0; Keras's ε = 1e-3 breaks it slightly, which the second test shows
(so the first could fail). Batch normalization's running variance is part of the state that
scales: it starts at c·1 for the scaled network, as if it had seen the scaled activations.
"""

import numpy as np
import pytest

from decaylab import chunk, models
from decaylab.engine import ShardConfig, train_shard

C = 9.0
SCALED = {"kernel": np.sqrt(C), "moving_variance": C}
"""How the state of the scaled network relates to the original's."""


def config(normalization):
    spec = models.ModelSpec(
        "mlp",
        hidden=(8, 8),
        activation="tanh",
        normalization=normalization,
        affine=False,
        fixed_head=True,
    )
    return ShardConfig(
        model=spec,
        optimizer="sgd",
        regularization="l2",
        epochs=6,
        batch_size=16,
        shuffle=True,
        dtype="float64",
    )


def runs(learning_rate, strength):
    return [{"learning_rate": learning_rate, "strength": strength, "seed": s} for s in (0, 1)]


def trained_pair(monkeypatch, moons, normalization):
    train, test = moons
    original = train_shard(train, test, config(normalization), runs(0.05, 0.02))
    init = models.init_params

    def scaled(*args, **kwargs):  # trained kernels × √c; the fixed head as it was
        return [
            {n: v * SCALED.get(n, 1.0) for n, v in layer.items()} for layer in init(*args, **kwargs)
        ]

    monkeypatch.setattr(models, "init_params", scaled)
    rescaled = train_shard(train, test, config(normalization), runs(0.05 * C, 0.02 / C))
    return original, rescaled


@pytest.fixture
def without_epsilon(monkeypatch):
    """Normalization's ε set to 0; the chunks compiled with it forgotten before and after, since
    a compiled chunk is kept per plan and ε is a constant of the code, not of the plan."""
    chunk.compiled_chunk.cache_clear()
    monkeypatch.setattr(models, "EPSILON", 0.0)
    yield
    chunk.compiled_chunk.cache_clear()


@pytest.mark.parametrize("normalization", ["layer", "batch"])
def test_scaled_weights_and_rates_train_the_same_function(
    monkeypatch, moons, keras_in_float64, without_epsilon, normalization
):
    original, rescaled = trained_pair(monkeypatch, moons, normalization)
    for column in ("train_loss", "test_loss", "test_accuracy"):
        np.testing.assert_allclose(rescaled.runs[column], original.runs[column], rtol=1e-9)
    np.testing.assert_allclose(
        rescaled.history["train_loss"], original.history["train_loss"], rtol=1e-9
    )
    # the trained kernels stay √c times the original ones
    np.testing.assert_allclose(
        rescaled.runs["weight_norm"], np.sqrt(C) * original.runs["weight_norm"], rtol=1e-9
    )


def test_normalization_epsilon_breaks_the_exact_invariance(monkeypatch, moons, keras_in_float64):
    original, rescaled = trained_pair(monkeypatch, moons, "layer")
    difference = np.abs(rescaled.runs["test_loss"] - original.runs["test_loss"]).max()
    assert difference > 1e-6
    assert models.EPSILON == pytest.approx(1e-3)

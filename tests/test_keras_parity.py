"""With K = 1 the engine follows a Keras model trained by ``keras.optimizers`` step for step.

The second oracle: the first, exact one is ``test_numpy_oracle.py``.
"""

import keras
import numpy as np
import pytest
from conftest import weights
from keras.optimizers import schedules as keras_schedules

from decaylab import models
from decaylab.engine import ShardConfig, train_shard

ETA0, DECAY_RATE, DECAY_STEPS = 0.02, 0.5, 60
STRENGTH = 0.05
EPOCHS, BATCH = 40, 16  # 40 training rows: 3 updates an epoch (16, 16, 8), 120 updates
SPEC = models.ModelSpec(kind="mlp", hidden=(6,), activation="tanh")
# Keras's round-off, not ours (the engine matches the exact NumPy reference to 1e-12): its
# TensorFlow Adam is ~1e-6 off exact; its JAX backend computes tanh in float32 even for float64
# weights, which puts its own trajectory ~1e-5 off the exact one
TOLERANCE = 1e-4 if keras.backend.backend() == "jax" else 1e-5

KERAS_OPTIMIZERS = {
    ("sgd", False): lambda lr, **kw: keras.optimizers.SGD(lr, **kw),
    ("momentum", False): lambda lr, **kw: keras.optimizers.SGD(lr, momentum=0.9, **kw),
    ("momentum", True): lambda lr, **kw: keras.optimizers.SGD(
        lr, momentum=0.9, nesterov=True, **kw
    ),
    ("adam", False): lambda lr, **kw: keras.optimizers.Adam(lr, **kw),
    ("rmsprop", False): lambda lr, **kw: keras.optimizers.RMSprop(lr, **kw),
    ("adagrad", False): lambda lr, **kw: keras.optimizers.Adagrad(lr, **kw),
}


pytestmark = pytest.mark.usefixtures("keras_in_float64")


class RecordWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.kernel_norms = []

    def on_epoch_end(self, epoch, logs=None):
        kernels = self.model.get_weights()[::2]
        self.kernel_norms.append(np.sqrt(sum(float((k**2).sum()) for k in kernels)))


def keras_trajectory(train, optimizer_key, regularization, initial):
    keras.utils.set_random_seed(0)
    regularizer = keras.regularizers.L2(STRENGTH / 2) if regularization == "l2" else None
    model = keras.Sequential(
        [
            keras.Input((train.x.shape[1],)),
            keras.layers.Dense(6, "tanh", kernel_regularizer=regularizer),
            keras.layers.Dense(1, kernel_regularizer=regularizer),
        ]
    )
    model.set_weights(initial)
    # a float64 η0 makes Keras compute the schedule in float64 too (else float32)
    schedule = keras_schedules.ExponentialDecay(np.float64(ETA0), DECAY_STEPS, DECAY_RATE)
    extra = {"weight_decay": STRENGTH} if regularization == "decoupled_lr" else {}
    optimizer = KERAS_OPTIMIZERS[optimizer_key](schedule, **extra)
    if extra:
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    model.compile(optimizer, loss=lambda y, f: 0.5 * keras.ops.mean((y - f) ** 2, axis=-1))
    recorder = RecordWeights()
    model.fit(
        train.x,
        train.y,
        batch_size=BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
        callbacks=[recorder],
    )
    assert int(optimizer.iterations) == EPOCHS * 3
    return model.get_weights(), np.array(recorder.kernel_norms)


@pytest.mark.parametrize("regularization", ["none", "l2", "decoupled_lr"])
@pytest.mark.parametrize(
    "optimizer_key", list(KERAS_OPTIMIZERS), ids=lambda k: k[0] + ("_nesterov" if k[1] else "")
)
def test_engine_follows_keras(small_regression, optimizer_key, regularization):
    train, test = small_regression
    optimizer, nesterov = optimizer_key
    config = ShardConfig(
        model=SPEC,
        optimizer=optimizer,
        nesterov=nesterov,
        schedule="exponential",
        regularization=regularization,
        epochs=EPOCHS,
        batch_size=BATCH,
        dtype="float64",
    )
    hp = {
        "learning_rate": ETA0,
        "decay_rate": DECAY_RATE,
        "decay_steps": DECAY_STEPS,
        "strength": STRENGTH,
        "seed": 11,
    }
    ours = train_shard(train, test, config, [hp])
    initial = [p[0] for p in weights(models.init_params(SPEC, train.x.shape[1:], 1, [11]))]
    expected_weights, expected_norms = keras_trajectory(
        train, optimizer_key, regularization, initial
    )

    norms = ours.history["weight_norm"].to_numpy()[1:]
    assert len(norms) == EPOCHS
    np.testing.assert_allclose(norms, expected_norms, rtol=TOLERANCE)
    for got, want in zip(weights(ours.params), expected_weights, strict=True):
        # relative to each tensor's scale, since Adam's normalization amplifies round-off in
        # entries whose gradients hover near zero
        np.testing.assert_allclose(
            got[0], want, rtol=TOLERANCE, atol=TOLERANCE * np.abs(want).max()
        )
    # the weights really moved: the oracle is not vacuous
    assert not np.allclose(expected_weights[0], initial[0], rtol=1e-2)

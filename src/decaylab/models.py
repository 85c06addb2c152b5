"""Models as pure functions of parameters stacked along a leading run axis K.

Parameters are a list ``[kernel_1, bias_1, kernel_2, bias_2, …]`` with shapes ``(K, fan_in,
fan_out)`` and ``(K, fan_out)``. Kernels start from Keras's default ``glorot_uniform``
(U(−l, l), ``l = sqrt(6 / (fan_in + fan_out))``) drawn with ``RandomState(seed)`` of each run,
biases from zeros, so a run starts the same whatever shard it is trained in.

The functions that build the computation import ``keras`` when called, so that the NumPy-only
parts (specs, features, initial values) load without a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODELS = ("linear", "polynomial", "mlp")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "softplus", "silu")


@dataclass(frozen=True)
class ModelSpec:
    """``linear``; ``polynomial`` (linear on ``x, x², …, x^degree``); ``mlp`` (``hidden`` sizes)."""

    kind: str = "linear"
    degree: int = 1
    hidden: tuple[int, ...] = ()
    activation: str = "relu"

    def __post_init__(self):
        if self.kind not in MODELS:
            raise ValueError(f"model must be one of {list(MODELS)}, got {self.kind!r}")
        if self.kind == "polynomial" and (not isinstance(self.degree, int) or self.degree < 1):
            raise ValueError(f"degree must be a positive integer, got {self.degree!r}")
        if self.kind == "mlp":
            if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
                raise ValueError(
                    f"hidden must be a non-empty list of positive integers, got {self.hidden!r}"
                )
            if self.activation not in ACTIVATIONS:
                raise ValueError(
                    f"activation must be one of {list(ACTIVATIONS)}, got {self.activation!r}"
                )


def features(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """The model's input features: ``x`` itself, or ``[x, x², …, x^degree]`` per column."""
    if spec.kind != "polynomial":
        return x
    return np.concatenate([x**power for power in range(1, spec.degree + 1)], axis=1)


def layer_shapes(spec: ModelSpec, n_in: int, n_out: int) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` of each dense layer."""
    sizes = [n_in, *(spec.hidden if spec.kind == "mlp" else ()), n_out]
    return list(zip(sizes[:-1], sizes[1:], strict=True))


def init_params(spec: ModelSpec, n_in: int, n_out: int, seeds) -> list[np.ndarray]:
    """Stacked float64 initial parameters, one slice per seed (Keras default initializers)."""
    per_run = []
    for seed in seeds:
        rng = np.random.RandomState(int(seed))
        params = []
        for fan_in, fan_out in layer_shapes(spec, n_in, n_out):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            params += [rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)]
        per_run.append(params)
    return [np.stack(group) for group in zip(*per_run, strict=True)]


def kernel_mask(params) -> list[bool]:
    """True for kernels (penalized and decayed), False for biases (never)."""
    return [i % 2 == 0 for i in range(len(params))]


def apply(spec: ModelSpec, params, x):
    """Outputs ``(K, B, n_out)`` for inputs ``x`` of shape ``(K, B, d)``.

    Hidden layers: ``h ← activation(h·W + b)``; the last layer is linear (regression output or
    classification logits).
    """
    import keras
    from keras import ops

    activation = keras.activations.get(spec.activation)
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = ops.einsum("kbi,kio->kbo", h, params[2 * i]) + params[2 * i + 1][:, None, :]
        if i < n_layers - 1:
            h = activation(h)
    return h


def squared_norm(params):
    """``Σ w²`` over the kernels, per run: shape ``(K,)``."""
    from keras import ops

    return sum(ops.sum(ops.square(p), axis=(1, 2)) for p in params[::2])


def abs_norm(params):
    """``Σ |w|`` over the kernels, per run: shape ``(K,)``."""
    from keras import ops

    return sum(ops.sum(ops.abs(p), axis=(1, 2)) for p in params[::2])

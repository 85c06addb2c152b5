"""Models as pure functions of parameters stacked along a leading run axis K.

Parameters are a list of layers ``[{"kernel": W1, "bias": b1}, …]`` with shapes ``(K, fan_in,
fan_out)`` and ``(K, fan_out)``; what is decayed is decided by name (``DECAYED``). Kernels start
from Keras's default ``glorot_uniform`` (U(−l, l), ``l = sqrt(6 / (fan_in + fan_out))``) drawn
with ``RandomState(seed)`` of each run, biases from zeros, so a run starts the same whatever shard
it is trained in.

The functions that build the computation import ``keras`` when called, so that the NumPy-only
parts (specs, features, initial values) load without a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab.registry import ACTIVATIONS, MODELS


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


def init_params(spec: ModelSpec, n_in: int, n_out: int, seeds) -> list[dict[str, np.ndarray]]:
    """Stacked float64 initial parameters, one slice per seed (Keras default initializers).

    One ``{"kernel": (K, fan_in, fan_out), "bias": (K, fan_out)}`` per dense layer.
    """
    per_run = []
    for seed in seeds:
        rng = np.random.RandomState(int(seed))
        layers = []
        for fan_in, fan_out in layer_shapes(spec, n_in, n_out):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            layers.append((rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)))
        per_run.append(layers)
    return [
        {
            "kernel": np.stack([run[i][0] for run in per_run]),
            "bias": np.stack([run[i][1] for run in per_run]),
        }
        for i in range(len(per_run[0]))
    ]


DECAYED = frozenset({"kernel"})
"""Parameter names that regularization penalizes and decays (never biases)."""


def decay_mask(params) -> list[dict[str, bool]]:
    """The structure of ``params`` with True where a parameter is decayed (by its name)."""
    return [{name: name in DECAYED for name in layer} for layer in params]


def decayed(params) -> list:
    """The decayed tensors of ``params`` (the kernels), in layer order."""
    return [value for layer in params for name, value in layer.items() if name in DECAYED]


def apply(spec: ModelSpec, params, x):
    """Outputs ``(K, B, n_out)`` for inputs ``x`` of shape ``(K, B, d)``.

    Hidden layers: ``h ← activation(h·W + b)``; the last layer is linear (regression output or
    classification logits).
    """
    import keras
    from keras import ops

    from decaylab import backend

    # tanh from the backend itself: Keras's JAX tanh drops float64 to float32
    activation = (
        backend.tanh if spec.activation == "tanh" else keras.activations.get(spec.activation)
    )
    h = x
    for i, layer in enumerate(params):
        h = ops.einsum("kbi,kio->kbo", h, layer["kernel"]) + layer["bias"][:, None, :]
        if i < len(params) - 1:
            h = activation(h)
    return h


def squared_norm(params):
    """``Σ w²`` over the decayed parameters (kernels), per run: shape ``(K,)``."""
    from keras import ops

    return sum(
        ops.sum(ops.reshape(ops.square(w), (ops.shape(w)[0], -1)), axis=1) for w in decayed(params)
    )


def abs_norm(params):
    """``Σ |w|`` over the decayed parameters (kernels), per run: shape ``(K,)``."""
    from keras import ops

    return sum(
        ops.sum(ops.reshape(ops.abs(w), (ops.shape(w)[0], -1)), axis=1) for w in decayed(params)
    )


def save_params(path, params) -> None:
    """Write stacked parameters to an ``.npz`` file (keys ``layer0/kernel``, ``layer0/bias`` …)."""
    np.savez(
        path,
        **{
            f"layer{i}/{name}": np.asarray(v)
            for i, layer in enumerate(params)
            for name, v in layer.items()
        },
    )


def load_params(path) -> list[dict[str, np.ndarray]]:
    """Read the parameters written by :func:`save_params`."""
    layers: dict[int, dict[str, np.ndarray]] = {}
    with np.load(path) as stored:
        for key in stored.files:
            layer, name = key.split("/")
            layers.setdefault(int(layer.removeprefix("layer")), {})[name] = stored[key]
    return [layers[i] for i in sorted(layers)]

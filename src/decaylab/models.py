"""Models as pure functions of parameters stacked along a leading run axis K.

Parameters are a list of layers ``[{"kernel": W1, "bias": b1}, …]``, each tensor with a leading
run axis K: dense kernels ``(K, fan_in, fan_out)``, convolution kernels ``(K, *window,
channels_in, channels_out)``, biases ``(K, fan_out)``. A normalized layer has no bias but a
``gamma`` and a ``beta`` ``(K, fan_out)`` (none without ``affine``); batch normalization also
keeps running ``moving_mean`` and ``moving_variance``, and a ``fixed_head`` output layer has a
``fixed_kernel`` and ``fixed_bias`` (the *statistics*: state that gradients do not train, kept
apart from the parameters by the engine). What is decayed is decided by name (``DECAYED``): kernels
only. Kernels start from Keras's default ``glorot_uniform`` (U(−l, l), ``l = sqrt(6 / (fan_in +
fan_out))``, fans counted over the window as Keras does) drawn with ``RandomState(seed)`` of each
run; biases and β from zeros, γ from ones, so a run starts the same whatever shard it is trained
in.

The K runs of a convolutional layer are one batched matrix product of gathered windows (im2col)
with the K kernels, like the dense layers. On CPU this measured fastest inside the compiled
training loop (``benchmarks/real_models.py``): one grouped convolution with K groups (HFTA's
fusion) is over 100× slower under XLA's CPU backend, and K native convolutions unrolled in the
graph, fast in a single step, are about 8× slower inside XLA's while loop.

The functions that build the computation import ``keras`` when called, so that the NumPy-only
parts (specs, features, initial values) load without a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab.registry import ACTIVATIONS, MODELS, NORMALIZATIONS

EPSILON = 1e-3
"""ε of layer and batch normalization (Keras's default)."""
MOMENTUM = 0.99
"""Batch normalization's running average: ``m ← 0.99·m + 0.01·batch statistic`` (Keras's)."""
STATISTICS = ("moving_mean", "moving_variance", "fixed_kernel", "fixed_bias")
"""State that no gradient trains: running averages, and the output layer of ``fixed_head``."""


@dataclass(frozen=True)
class ModelSpec:
    """``linear``; ``polynomial`` (linear on ``x, x², …, x^degree``); ``mlp`` (``hidden``
    sizes); ``cnn``: per entry of ``filters`` a convolution (``kernel_size``, same padding),
    normalization, activation and max pooling by ``pool``, then the ``hidden`` dense layers.
    ``normalization`` (``none``, ``layer`` or ``batch``) follows every hidden layer's linear map,
    before its activation, with a learnt scale γ and shift β unless ``affine`` is false.
    ``fixed_head`` keeps the output layer at its initial values (Hoffer et al., 2018). Normalized
    without ``affine`` and with ``fixed_head``, the network is scale-invariant in each trained
    kernel (up to normalization's ε): f(c·W) = f(W), the setting of van Laarhoven (2017)."""

    kind: str = "linear"
    degree: int = 1
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    filters: tuple[int, ...] = ()
    kernel_size: int = 3
    pool: int = 2
    normalization: str = "none"
    affine: bool = True
    fixed_head: bool = False

    @property
    def scale_invariant(self) -> bool:
        """Whether the network is invariant to each trained kernel's scale: normalized, without
        ``affine``, with ``fixed_head``."""
        return self.normalization != "none" and not self.affine and self.fixed_head

    def __post_init__(self):
        if self.kind not in MODELS:
            raise ValueError(f"model must be one of {list(MODELS)}, got {self.kind!r}")
        if self.kind == "polynomial" and (not isinstance(self.degree, int) or self.degree < 1):
            raise ValueError(f"degree must be a positive integer, got {self.degree!r}")
        if self.kind == "mlp" and not self.hidden:
            raise ValueError(
                f"hidden must be a non-empty list of positive integers, got {self.hidden!r}"
            )
        if self.kind == "cnn" and not self.filters:
            raise ValueError(
                f"filters must be a non-empty list of positive integers, got {self.filters!r}"
            )
        for name in ("hidden", "filters"):
            if any(not isinstance(h, int) or h < 1 for h in getattr(self, name)):
                raise ValueError(f"{name} must be positive integers, got {getattr(self, name)!r}")
        for name in ("kernel_size", "pool"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {list(ACTIVATIONS)}, got {self.activation!r}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {list(NORMALIZATIONS)}, got {self.normalization!r}"
            )
        for name in ("affine", "fixed_head"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not self.affine and self.normalization == "none":
            raise ValueError("affine: false needs a normalization (layer or batch)")

    @property
    def hidden_layers(self) -> int:
        """How many layers are followed by normalization and activation."""
        return len(self.filters if self.kind == "cnn" else ()) + len(
            self.hidden if self.kind in ("mlp", "cnn") else ()
        )


def spec_of(model) -> ModelSpec:
    """The spec of a config's ``model``: a kind's name, or a mapping of its options."""
    settings = {"kind": model} if isinstance(model, str) else dict(model)
    for key in ("hidden", "filters"):
        if key in settings:
            settings[key] = tuple(settings[key])
    return ModelSpec(**settings)


def features(spec: ModelSpec, x: np.ndarray, input_shape: tuple[int, ...] = ()) -> np.ndarray:
    """The model's inputs: ``x`` itself; ``[x, x², …, x^degree]`` per column; for ``cnn``, the
    rows reshaped to ``(n, *input_shape)`` (sequences ``(length, channels)`` or images)."""
    if spec.kind == "cnn":
        if len(input_shape) not in (2, 3):
            raise ValueError(
                "model cnn needs sequences (length, channels) or images (height, width, "
                f"channels); this data set has plain features (input shape {input_shape or '()'})"
            )
        return x.reshape(len(x), *input_shape)
    if spec.kind != "polynomial":
        return x
    return np.concatenate([x**power for power in range(1, spec.degree + 1)], axis=1)


@dataclass(frozen=True)
class Layer:
    """One layer's plan: a convolution (``window``) or dense layer, and what follows it."""

    window: tuple[int, ...]
    fan_in: int
    fan_out: int
    hidden: bool
    pool: int = 1

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        return (*self.window, self.fan_in, self.fan_out)


def layers(spec: ModelSpec, input_shape: tuple[int, ...], n_out: int) -> list[Layer]:
    """The layers of ``spec`` for examples of ``input_shape`` (the shape of :func:`features`'s
    rows), in order; convolutions keep their size (same padding), pooling divides it (floor)."""
    planned = []
    if spec.kind == "cnn":
        *spatial, channels = input_shape
        for width in spec.filters:
            planned.append(
                Layer((spec.kernel_size,) * len(spatial), channels, width, True, spec.pool)
            )
            spatial, channels = [s // spec.pool for s in spatial], width
            if min(spatial) < 1:
                raise ValueError(
                    f"input shape {tuple(input_shape)} is too small for {len(spec.filters)} "
                    f"poolings by {spec.pool}"
                )
        n_in = int(np.prod(spatial)) * channels
    else:
        n_in = int(np.prod(input_shape))
    sizes = [n_in, *(spec.hidden if spec.kind in ("mlp", "cnn") else ()), n_out]
    planned += [
        Layer((), a, b, i < len(sizes) - 2)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
    ]
    return planned


def init_params(spec: ModelSpec, input_shape, n_out: int, seeds) -> list[dict[str, np.ndarray]]:
    """Stacked float64 initial parameters and statistics, one slice per seed.

    A layer's kernel is drawn first, from each run's ``RandomState(seed)``, layer after layer;
    the other values are constants.
    """
    plan = layers(spec, tuple(input_shape), n_out)
    rngs = [np.random.RandomState(int(seed)) for seed in seeds]
    stacked = []
    for layer in plan:
        receptive = int(np.prod(layer.window)) if layer.window else 1
        limit = np.sqrt(6.0 / (receptive * (layer.fan_in + layer.fan_out)))
        values = {"kernel": np.stack([r.uniform(-limit, limit, layer.kernel_shape) for r in rngs])}
        k, width = len(rngs), layer.fan_out
        if layer.hidden and spec.normalization != "none":
            if spec.affine:
                values |= {"gamma": np.ones((k, width)), "beta": np.zeros((k, width))}
            if spec.normalization == "batch":
                values |= {
                    "moving_mean": np.zeros((k, width)),
                    "moving_variance": np.ones((k, width)),
                }
        else:
            values["bias"] = np.zeros((k, width))
        if not layer.hidden and spec.fixed_head:
            values = {"fixed_kernel": values["kernel"], "fixed_bias": values["bias"]}
        stacked.append(values)
    return stacked


def split_statistics(stacked):
    """``(parameters, statistics)`` of a list of layer dicts that holds both."""
    parameters = [{n: v for n, v in layer.items() if n not in STATISTICS} for layer in stacked]
    statistics = [{n: v for n, v in layer.items() if n in STATISTICS} for layer in stacked]
    return parameters, statistics


def merge_statistics(parameters, statistics):
    """One list of layer dicts of both (what :func:`save_params` writes)."""
    return [{**p, **s} for p, s in zip(parameters, statistics, strict=True)]


DECAYED = frozenset({"kernel"})
"""Parameter names that regularization penalizes and decays (never biases, γ or β)."""


def decay_mask(params) -> list[dict[str, bool]]:
    """The structure of ``params`` with True where a parameter is decayed (by its name)."""
    return [{name: name in DECAYED for name in layer} for layer in params]


def decayed(params) -> list:
    """The decayed tensors of ``params`` (the kernels), in layer order."""
    return [value for layer in params for name, value in layer.items() if name in DECAYED]


def apply(spec: ModelSpec, params, x, statistics=None):
    """Outputs ``(K, B, n_out)`` for inputs ``x`` of shape ``(K, B, *input)``, in inference mode
    (batch normalization by its running statistics)."""
    return forward(spec, params, statistics, x)[0]


def forward(spec: ModelSpec, params, statistics, x, row_mask=None):
    """``(outputs, statistics)``. With ``row_mask`` ``(B,)`` (1 for the rows of the batch, 0 for
    padding), batch normalization trains: it normalizes by the batch's own mean and (biased)
    variance over the masked rows and positions, and moves its statistics towards them;
    without, it uses the running statistics, which come back unchanged.

    Normalization of ``h`` over axis set A: ``γ·(h − mean_A h)/sqrt(var_A h + ε) + β``; A is the
    features of one example for ``layer``, the batch (and positions) for ``batch``.
    """
    import keras
    from keras import ops

    from decaylab import backend

    # tanh from the backend itself: Keras's JAX tanh drops float64 to float32
    activation = (
        backend.tanh if spec.activation == "tanh" else keras.activations.get(spec.activation)
    )
    statistics = statistics if statistics is not None else [{} for _ in params]
    new_statistics = []
    k = ops.shape(x)[0]
    h = x
    for i, layer in enumerate(params):
        layer = {**statistics[i], **layer}
        kernel = layer["kernel"] if "kernel" in layer else layer["fixed_kernel"]
        convolution = len(ops.shape(kernel)) > 3
        if convolution:  # h: (K, B, *spatial, C) → (K, B, *spatial, F)
            h = _convolution(h, kernel)
        else:
            if len(ops.shape(h)) > 3:  # flatten (K, B, *spatial, C) as Keras's Flatten
                h = ops.reshape(h, (k, ops.shape(h)[1], -1))
            h = ops.einsum("kbi,kio->kbo", h, kernel)
        bias = layer["bias"] if "bias" in layer else layer.get("fixed_bias")
        if bias is not None:
            h = h + _per_run(bias, h)
        moved = statistics[i]
        if i < len(params) - 1 and spec.normalization != "none":
            h, moved = _normalize(spec.normalization, h, layer, statistics[i], row_mask)
        new_statistics.append(moved)
        if i < len(params) - 1:
            h = activation(h)
            if convolution and spec.pool > 1:
                h = _max_pool(h, spec.pool)
    return h, new_statistics


def _per_run(values, h):
    """``(K, F)`` values shaped to broadcast against ``h`` ``(K, B, …, F)``."""
    from keras import ops

    shape = ops.shape(values)
    return ops.reshape(values, (shape[0], *([1] * (len(ops.shape(h)) - 2)), shape[1]))


def _convolution(h, kernel):
    """Each run's inputs ``(K, B, *spatial, C)`` convolved with its own kernel ``(K, *window, C,
    F)`` (same padding, stride 1, as Keras's ``padding="same"``), as one batched matrix product:
    the windows around every position are gathered into ``(K, B, *spatial, window·C)`` patches
    (im2col, in the kernel's row-major order) and multiplied by the kernel reshaped to ``(K,
    window·C, F)``."""
    from keras import ops

    window = tuple(ops.shape(kernel)[1:-2])
    spatial = tuple(ops.shape(h)[2:-1])
    pads = [(0, 0), (0, 0)] + [((w - 1) // 2, w - 1 - (w - 1) // 2) for w in window] + [(0, 0)]
    padded = ops.pad(h, pads)
    if len(window) == 1:
        patches = [padded[:, :, i : i + spatial[0]] for i in range(window[0])]
        equation = "kblc,kcf->kblf"
    else:
        height, width = spatial
        patches = [
            padded[:, :, i : i + height, j : j + width]
            for i in range(window[0])
            for j in range(window[1])
        ]
        equation = "kbhwc,kcf->kbhwf"
    k, f = ops.shape(kernel)[0], ops.shape(kernel)[-1]
    return ops.einsum(equation, ops.concatenate(patches, axis=-1), ops.reshape(kernel, (k, -1, f)))


def _max_pool(h, size):
    """Max pooling by ``size`` (stride ``size``, valid: a remainder is dropped, as Keras's) over
    the spatial axes of ``(K, B, *spatial, F)``."""
    from keras import ops

    shape = ops.shape(h)
    k, b, spatial, f = shape[0], shape[1], tuple(shape[2:-1]), shape[-1]
    kept = tuple(slice(0, (s // size) * size) for s in spatial)
    h = h[(slice(None), slice(None), *kept)]
    blocks = [d for s in spatial for d in (s // size, size)]
    h = ops.reshape(h, (k, b, *blocks, f))
    return ops.max(h, axis=tuple(3 + 2 * i for i in range(len(spatial))))


def _normalize(kind, h, layer, statistics, row_mask):
    from keras import ops

    from decaylab import backend

    if "gamma" in layer:
        gamma, beta = _per_run(layer["gamma"], h), _per_run(layer["beta"], h)
    else:  # not affine: γ = 1, β = 0
        gamma, beta = 1.0, 0.0
    if kind == "layer":
        mean = backend.mean(h, axis=-1, keepdims=True)
        variance = backend.mean(ops.square(h - mean), axis=-1, keepdims=True)
        return gamma * (h - mean) / ops.sqrt(variance + EPSILON) + beta, statistics
    axes = tuple(range(1, len(ops.shape(h)) - 1))  # batch and positions, per run and channel
    if row_mask is None:
        mean = _per_run(statistics["moving_mean"], h)
        variance = _per_run(statistics["moving_variance"], h)
        moved = statistics
    else:
        weight = ops.reshape(row_mask, (1, -1, *([1] * (len(ops.shape(h)) - 2))))
        weight = ops.broadcast_to(weight, ops.shape(h)[:-1] + (1,))
        total = ops.sum(weight, axis=axes, keepdims=True)
        mean = ops.sum(h * weight, axis=axes, keepdims=True) / total
        variance = ops.sum(ops.square(h - mean) * weight, axis=axes, keepdims=True) / total
        flat_mean, flat_variance = (ops.reshape(v, (ops.shape(h)[0], -1)) for v in (mean, variance))
        moved = {
            "moving_mean": MOMENTUM * statistics["moving_mean"] + (1 - MOMENTUM) * flat_mean,
            "moving_variance": MOMENTUM * statistics["moving_variance"]
            + (1 - MOMENTUM) * flat_variance,
        }
    return gamma * (h - mean) / ops.sqrt(variance + EPSILON) + beta, moved


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
    np.savez(path, **{f"layer{i}/{name}": np.asarray(v) for i, layer in enumerate(params)
                      for name, v in layer.items()})  # fmt: skip


def load_params(path) -> list[dict[str, np.ndarray]]:
    """Read the parameters written by :func:`save_params`."""
    layers: dict[int, dict[str, np.ndarray]] = {}
    with np.load(path) as stored:
        for key in stored.files:
            layer, name = key.split("/")
            layers.setdefault(int(layer.removeprefix("layer")), {})[name] = stored[key]
    return [layers[i] for i in sorted(layers)]

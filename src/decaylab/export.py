"""One trained run as a plain ``keras.Model``, saved in Keras's own format (``.keras``).

The engine trains K runs as stacked arrays; a user who wants the selected network — to inspect
it, fine-tune it, serve it — gets it here as Keras layers that hold one run's weights, loadable
with ``keras.saving.load_model`` without decaylab. The model takes the rows of the data split as
they are (``data/DATASET/split.npz``: standardized where the split standardizes) and returns
what the engine computes: the regression output, or the class logits (apply
``keras.activations.softmax`` for probabilities). Layers, in the engine's order
(:func:`decaylab.models.forward`): ``polynomial`` builds ``[x, x², …]`` from ``Multiply`` and
``Concatenate`` layers; ``cnn`` reshapes rows to the examples' shape, then per entry of ``filters``
``Conv1D``/``Conv2D`` (same padding) → normalization → activation → ``MaxPooling`` (valid), and
``Flatten``; every hidden ``Dense`` is followed by normalization (``LayerNormalization`` or
``BatchNormalization`` with ε = 1e-3, without γ, β unless ``affine``) and the activation; the output
layer is ``Dense`` (a fixed head's initial kernel and bias).
"""

from __future__ import annotations

import numpy as np

from decaylab import models


def run_weights(stacked, run: int) -> list[dict[str, np.ndarray]]:
    """Run ``run``'s slice of stacked parameters and statistics."""
    return [{name: np.asarray(v)[run] for name, v in layer.items()} for layer in stacked]


def keras_model(spec: models.ModelSpec, weights, input_shape: tuple[int, ...], name="selected"):
    """A ``keras.Model`` of ``spec`` holding one run's ``weights`` (:func:`run_weights`), for
    inputs of ``prod(input_shape)`` features (the data's rows), in float32, called ``name``."""
    from decaylab.backend import keras  # Keras, started with its native start-up logs filtered

    n_features = int(np.prod(input_shape)) if input_shape else None
    first = weights[0].get("kernel", weights[0].get("fixed_kernel"))
    n_features = n_features or first.shape[-2] // (spec.degree if spec.kind == "polynomial" else 1)
    inputs = keras.Input((n_features,), name="x")
    h = inputs
    if spec.kind == "polynomial":
        powers = [inputs]
        for _ in range(spec.degree - 1):
            powers.append(keras.layers.Multiply()([powers[-1], inputs]))
        h = keras.layers.Concatenate()(powers) if len(powers) > 1 else inputs
    if spec.kind == "cnn":
        h = keras.layers.Reshape(tuple(input_shape))(h)
    for i, layer in enumerate(weights):
        kernel = layer.get("kernel", layer.get("fixed_kernel"))
        bias = layer.get("bias", layer.get("fixed_bias"))
        hidden = i < len(weights) - 1
        convolution = kernel.ndim > 2
        if convolution:
            kind = {3: keras.layers.Conv1D, 4: keras.layers.Conv2D}[kernel.ndim]
            linear = kind(
                kernel.shape[-1], kernel.shape[:-2], padding="same", use_bias=bias is not None
            )
        else:
            if len(h.shape) > 2:
                h = keras.layers.Flatten()(h)
            linear = keras.layers.Dense(kernel.shape[-1], use_bias=bias is not None)
        h = linear(h)
        linear.set_weights([kernel] + ([bias] if bias is not None else []))
        if hidden and spec.normalization != "none":
            affine = "gamma" in layer
            if spec.normalization == "layer":
                norm = keras.layers.LayerNormalization(
                    epsilon=models.EPSILON, center=affine, scale=affine
                )
                stored = [layer["gamma"], layer["beta"]] if affine else []
            else:
                norm = keras.layers.BatchNormalization(
                    momentum=models.MOMENTUM, epsilon=models.EPSILON, center=affine, scale=affine
                )
                stored = ([layer["gamma"], layer["beta"]] if affine else []) + [
                    layer["moving_mean"],
                    layer["moving_variance"],
                ]
            h = norm(h)
            if stored:
                norm.set_weights(stored)
        if hidden:
            h = keras.layers.Activation(spec.activation)(h)
            if convolution and spec.pool > 1:
                pooling = {3: keras.layers.MaxPooling1D, 4: keras.layers.MaxPooling2D}
                h = pooling[kernel.ndim](spec.pool)(h)
    return keras.Model(inputs, h, name=name)

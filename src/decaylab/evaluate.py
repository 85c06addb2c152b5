"""Trained parameters evaluated with NumPy alone (fitted curves), and the ridge optimum."""

from __future__ import annotations

import numpy as np

from decaylab import models

ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "softplus": lambda h: np.logaddexp(0.0, h),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
    "silu": lambda h: h / (1.0 + np.exp(-h)),
}


def predict(spec: models.ModelSpec, params, x: np.ndarray) -> np.ndarray:
    """Outputs ``(K, n, n_out)`` of the dense model ``spec`` with the stacked ``params`` of K
    runs on raw inputs ``x``
    ``(n, d)``, in float64, in inference mode: each hidden layer ``h ← act(norm(h·W + b))``,
    ``norm`` by :mod:`models`'s formula (batch normalization by the running statistics)."""
    if spec.kind == "cnn":
        raise ValueError("NumPy evaluation covers dense models only, not cnn")
    if spec.activation not in ACTIVATIONS and spec.kind == "mlp":
        raise ValueError(f"NumPy evaluation has no activation {spec.activation!r}")
    inputs = models.features(spec, x)
    layers = [  # a fixed head's kernel and bias are used as any other
        {name.removeprefix("fixed_"): np.asarray(v, dtype=np.float64) for name, v in layer.items()}
        for layer in params
    ]
    h = np.broadcast_to(inputs[None], (layers[0]["kernel"].shape[0], *inputs.shape))
    for i, layer in enumerate(layers):
        h = np.einsum("kbi,kio->kbo", h, layer["kernel"])
        if "bias" in layer:
            h = h + layer["bias"][:, None, :]
        if i < len(layers) - 1 and spec.normalization != "none":
            if "moving_mean" in layer:
                mean, variance = layer["moving_mean"][:, None], layer["moving_variance"][:, None]
            else:
                mean = h.mean(axis=-1, keepdims=True)
                variance = h.var(axis=-1, keepdims=True)
            h = (h - mean) / np.sqrt(variance + models.EPSILON)
            if "gamma" in layer:
                h = layer["gamma"][:, None] * h + layer["beta"][:, None]
        if i < len(layers) - 1:
            h = ACTIVATIONS[spec.activation](h)
    return h


def ridge(x: np.ndarray, y: np.ndarray, strength: float) -> tuple[np.ndarray, float]:
    """The minimizer of ``½·mean((y − xw − b)²) + λ/2·‖w‖²``, λ = ``strength`` (the bias is not
    penalized).

    ``w = (XcᵀXc + nλI)⁻¹ Xcᵀ yc`` on centred data, ``b = ȳ − x̄ᵀw`` (scikit-learn's
    ``Ridge(alpha=n·λ)``).
    """
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc, yc = x - x_mean, y.ravel() - y_mean
    w = np.linalg.solve(xc.T @ xc + len(y) * strength * np.eye(x.shape[1]), xc.T @ yc)
    return w, float(y_mean - x_mean @ w)

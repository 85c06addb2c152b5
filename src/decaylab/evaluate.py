"""Evaluate trained parameters with NumPy alone, independently of the training backend."""

from __future__ import annotations

import numpy as np

from decaylab import models
from decaylab.data import CLASSIFICATION, Dataset

ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "softplus": lambda h: np.logaddexp(0.0, h),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
    "silu": lambda h: h / (1.0 + np.exp(-h)),
}


def predict(spec: models.ModelSpec, params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Outputs ``(K, n, n_out)`` of K stacked runs on raw inputs ``x`` ``(n, d)``."""
    if spec.activation not in ACTIVATIONS and spec.kind == "mlp":
        raise ValueError(f"NumPy evaluation has no activation {spec.activation!r}")
    inputs = models.features(spec, x)
    h = np.broadcast_to(inputs[None], (params[0].shape[0], *inputs.shape))
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = np.einsum("kbi,kio->kbo", h, params[2 * i]) + params[2 * i + 1][:, None, :]
        if i < n_layers - 1:
            h = ACTIVATIONS[spec.activation](h)
    return h


def test_metrics(spec: models.ModelSpec, params, test: Dataset) -> dict[str, np.ndarray]:
    """Per-run test metrics: ``test_mse`` (regression) or ``test_accuracy`` and cross-entropy.

    ``test_loss`` is the MSE for regression and the mean cross-entropy for classification.
    """
    outputs = predict(spec, [np.asarray(p, dtype=np.float64) for p in params], test.x)
    if test.task == CLASSIFICATION:
        shifted = outputs - outputs.max(axis=-1, keepdims=True)
        log_prob = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(log_prob, test.y[None, :, None], axis=-1)[..., 0]
        return {
            "test_accuracy": (outputs.argmax(axis=-1) == test.y[None]).mean(axis=1),
            "test_loss": -picked.mean(axis=1),
        }
    mse = ((outputs - test.y[None]) ** 2).mean(axis=(1, 2))
    return {"test_mse": mse, "test_loss": mse}


def ridge(x: np.ndarray, y: np.ndarray, strength: float) -> tuple[np.ndarray, float]:
    """The minimizer of ``½·mean((y − xw − b)²) + λ/2·‖w‖²`` (the bias is not penalized).

    ``w = (XcᵀXc + nλI)⁻¹ Xcᵀ yc`` on centred data, ``b = ȳ − x̄ᵀw`` (scikit-learn's
    ``Ridge(alpha=n·λ)``).
    """
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc, yc = x - x_mean, y.ravel() - y_mean
    w = np.linalg.solve(xc.T @ xc + len(y) * strength * np.eye(x.shape[1]), xc.T @ yc)
    return w, float(y_mean - x_mean @ w)

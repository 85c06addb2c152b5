"""What a metric is: which way is better, which one a figure reports, and its label.

Every table, statistic and figure of the study asks this module, so a metric is oriented and
named one way everywhere: a loss or an MSE is better lower, an accuracy higher.
"""

from __future__ import annotations

import pandas as pd

HIGHER_IS_BETTER = frozenset({"validation_accuracy", "test_accuracy"})
"""The metrics that are better higher; every other one is better lower."""

LABELS = {
    "test_mse": "test MSE",
    "test_loss": "test loss",
    "test_accuracy": "test accuracy",
    "train_loss": "training loss (objective)",
    "weight_norm": "weight norm ‖w‖",
    "learning_rate": "learning rate η0",
    "scheduled_learning_rate": "learning rate η_t",
    "decay_rate": "decay rate",
    "strength": "strength λ",
    "train_size": "training rows N",
    "best_strength": "best strength λ*",
}
"""How a column is named on a figure (any other column: its name with spaces)."""


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (an accuracy)."""
    return metric in HIGHER_IS_BETTER


def sign(metric: str) -> float:
    """The factor s that makes ``metric`` lower-is-better: ``s·m`` is minimized by the best
    setting (s = −1 for an accuracy, +1 for a loss or MSE)."""
    return -1.0 if higher_is_better(metric) else 1.0


def label(column: str) -> str:
    """The words a figure uses for ``column`` (:data:`LABELS`, else its name with spaces)."""
    return LABELS.get(column, column.replace("_", " "))


def reported(frame: pd.DataFrame, metric: str | None = None) -> str:
    """The test metric a figure shows of ``frame``, a runs table or a summary (``*_mean``
    columns):
    ``metric`` where given, else the accuracy where it is measured (classification), else
    the MSE."""
    if metric is not None:
        return metric
    for column in ("test_accuracy", "test_accuracy_mean"):
        if column in frame and frame[column].notna().any():
            return "test_accuracy"
    return "test_mse"

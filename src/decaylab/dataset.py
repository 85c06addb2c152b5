"""The :class:`Dataset` type, and a data set from a table (:func:`from_frame`).

Its own module, so that the synthetic generators (:mod:`decaylab.data`) and the real sources
(:mod:`decaylab.sources`) both build on it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REGRESSION = "regression"
CLASSIFICATION = "classification"


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` ``(n, d)``, targets ``y`` and the task they pose.

    Regression targets are ``(n, m)`` (a 1-d ``y`` is taken as one output, ``(n, 1)``);
    classification targets are ``(n,)`` integer labels ``0 … C−1``. Anything else is refused,
    as are NaN and infinite values. ``input_shape`` is the shape of one example for
    convolutional models (``(length, channels)`` or ``(height, width, channels)``), whose
    product is ``d``; ``()`` for plain features.
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    input_shape: tuple[int, ...] = ()

    def __post_init__(self):
        if self.task not in (REGRESSION, CLASSIFICATION):
            raise ValueError(
                f"task must be {REGRESSION!r} or {CLASSIFICATION!r}, got {self.task!r}"
            )
        x, y = np.asarray(self.x), np.asarray(self.y)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2:
            raise ValueError(f"x must be (rows, features), got shape {x.shape}")
        if self.task == REGRESSION:
            y = y.reshape(len(y), -1) if y.ndim == 1 else y
            if y.ndim != 2:
                raise ValueError(f"regression y must be (rows,) or (rows, outputs), got {y.shape}")
        else:
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.ndim != 1 or not np.all(np.asarray(y) == np.round(y)) or (len(y) and y.min() < 0):
                raise ValueError(
                    f"classification y must be (rows,) labels 0, 1, …, got shape {y.shape}"
                )
            y = y.astype(np.int64)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        for name, values in (("x", x), ("y", y)):
            bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
            if bad.any():
                rows = np.flatnonzero(bad)
                raise ValueError(
                    f"{name} has NaN or infinite values in {len(rows)} row(s), first row {rows[0]}"
                )
        input_shape = tuple(int(s) for s in self.input_shape)
        if input_shape and int(np.prod(input_shape)) != x.shape[1]:
            raise ValueError(f"input_shape {input_shape} does not hold {x.shape[1]} features")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "input_shape", input_shape)

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return int(self.y.max()) + 1 if self.task == CLASSIFICATION else 0


def from_frame(frame, target: str, features=None, task: str | None = None) -> Dataset:
    """A data set from the pandas DataFrame ``frame``: its ``target`` column as y, ``features``
    (default: all other columns) as x. ``task`` defaults to classification for integer, boolean or
    text targets (labels numbered in sorted order), regression for real numbers. Columns that are
    not numeric, and NaN or infinite values, are refused with the column's name."""
    columns = list(frame.columns)
    if target not in frame:
        raise ValueError(f"target column {target!r} not found; columns: {columns}")
    if frame.empty:
        raise ValueError(f"the table has no rows (columns: {columns})")
    features = [c for c in columns if c != target] if features is None else list(features)
    missing = [c for c in features if c not in frame]
    if missing:
        raise ValueError(f"feature column {missing[0]!r} not found; columns: {columns}")
    if not features:
        raise ValueError("there is no feature column besides the target")
    for column in features:
        if frame[column].dtype.kind not in "biuf":
            raise ValueError(
                f"feature column {column!r} is not numeric ({frame[column].dtype}, e.g. "
                f"{frame[column].iloc[0]!r}); encode it or leave it out of features"
            )
    for column in [*features, target]:
        values = frame[column]
        bad = values.isna() | (values.dtype.kind in "fc" and ~np.isfinite(values))
        if bad.any():
            raise ValueError(
                f"column {column!r} has {int(bad.sum())} missing, NaN or infinite value(s), "
                f"first in row {int(np.flatnonzero(bad)[0])}"
            )
    labels = frame[target]
    if task is None:
        task = REGRESSION if labels.dtype.kind == "f" else CLASSIFICATION
    if task == CLASSIFICATION:
        y = class_indices(labels.to_numpy(), f"target column {target!r}")
    else:
        if labels.dtype.kind not in "biuf":
            raise ValueError(f"regression target column {target!r} is not numeric")
        y = labels.to_numpy(dtype=float)
    return Dataset(frame[features].to_numpy(dtype=float), y, task)


def class_indices(labels: np.ndarray, what: str) -> np.ndarray:
    """``labels`` numbered ``0 … C−1`` in sorted order; a target with fewer than two classes is
    refused (the error names ``what``, the column or key) (there is nothing to classify, and no
    stratified split)."""
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{what} has {len(classes)} class(es) {list(classes)[:1]}: a classification target "
            "needs at least two (or set task: regression)"
        )
    return y

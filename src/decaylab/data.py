"""Synthetic data sets, deterministic from a seed, and the train/test split.

Every generator returns a :class:`Dataset` of float64 NumPy arrays; ``x`` is ``(n, d)`` and
``y`` is ``(n, 1)`` for regression or ``(n,)`` integer class labels for classification.
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
    classification targets are ``(n,)`` integer labels ``0 … C−1``. Anything else is refused.
    """

    x: np.ndarray
    y: np.ndarray
    task: str

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
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return int(self.y.max()) + 1 if self.task == CLASSIFICATION else 0


@dataclass(frozen=True)
class Split:
    """Row indices of the training and the test set."""

    train: np.ndarray
    test: np.ndarray


def linear(
    n: int = 100,
    n_features: int = 1,
    slope: float = 3.0,
    intercept: float = 5.0,
    noise: float = 1.0,
    x_range: tuple[float, float] = (0.0, 2.0),
    seed: int = 0,
) -> Dataset:
    """The article's problem ``y = slope·x + intercept + noise·ε``, ``x ~ U(x_range)``, ε ~ N(0, 1).

    Draws with ``np.random.RandomState(seed)`` in the article's order (all x, then all ε), so the
    defaults reproduce ``np.random.seed(0); X = 2*rand(100, 1); y = 3*X + 5 + randn(100, 1)``
    bit for bit. With ``n_features > 1`` every feature has the same slope.
    """
    _check_positive_int("n", n)
    _check_positive_int("n_features", n_features)
    _check_non_negative("noise", noise)
    low, high = _check_range("x_range", x_range)
    rng = np.random.RandomState(seed)
    x = low + (high - low) * rng.rand(n, n_features)
    y = slope * x.sum(axis=1, keepdims=True) + intercept + noise * rng.randn(n, 1)
    return Dataset(x=x, y=y, task=REGRESSION)


def sine(
    n: int = 10,
    noise: float = 0.3,
    x_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
) -> Dataset:
    """Bishop's curve fitting (PRML §1.1): ``y = sin(2πx) + noise·ε``, ``x ~ U(x_range)``."""
    _check_positive_int("n", n)
    _check_non_negative("noise", noise)
    low, high = _check_range("x_range", x_range)
    rng = np.random.RandomState(seed)
    x = low + (high - low) * rng.rand(n, 1)
    y = np.sin(2 * np.pi * x) + noise * rng.randn(n, 1)
    return Dataset(x=x, y=y, task=REGRESSION)


def moons(n: int = 200, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Two interleaving half circles (the construction of scikit-learn's ``make_moons``).

    Class 0: ``(cos θ, sin θ)``; class 1: ``(1 − cos θ, 0.5 − sin θ)``, θ evenly spaced in
    [0, π], plus Gaussian noise of standard deviation ``noise`` on both coordinates.
    """
    _check_positive_int("n", n)
    _check_non_negative("noise", noise)
    n_outer = n // 2
    n_inner = n - n_outer
    theta_outer = np.linspace(0, np.pi, n_outer)
    theta_inner = np.linspace(0, np.pi, n_inner)
    x = np.vstack(
        [
            np.column_stack([np.cos(theta_outer), np.sin(theta_outer)]),
            np.column_stack([1 - np.cos(theta_inner), 0.5 - np.sin(theta_inner)]),
        ]
    )
    y = np.concatenate([np.zeros(n_outer, dtype=np.int64), np.ones(n_inner, dtype=np.int64)])
    rng = np.random.RandomState(seed)
    x = x + noise * rng.randn(*x.shape)
    order = rng.permutation(n)
    return Dataset(x=x[order], y=y[order], task=CLASSIFICATION)


def spirals(n: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """``n_classes`` interleaved spiral arms (CS231n's toy set), ``n // n_classes`` points each.

    Arm c: radius r ∈ [0, 1], angle ``4r + 2πc/n_classes + noise·ε``, point ``r·(sin, cos)``.
    """
    _check_positive_int("n", n)
    if n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    _check_non_negative("noise", noise)
    rng = np.random.RandomState(seed)
    per_class = n // n_classes
    xs, ys = [], []
    for label in range(n_classes):
        radius = np.linspace(0.0, 1.0, per_class)
        angle = 4 * radius + 2 * np.pi * label / n_classes + noise * rng.randn(per_class)
        xs.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        ys.append(np.full(per_class, label, dtype=np.int64))
    x, y = np.vstack(xs), np.concatenate(ys)
    order = rng.permutation(len(y))
    return Dataset(x=x[order], y=y[order], task=CLASSIFICATION)


GENERATORS = {"linear": linear, "sine": sine, "moons": moons, "spirals": spirals}


def from_frame(frame, target: str, features=None, task: str | None = None) -> Dataset:
    """A data set from a pandas DataFrame: ``target`` column as y, ``features`` (default: all
    other columns) as x. ``task`` defaults to classification for integer or text targets
    (labels encoded in sorted order), regression otherwise.
    """
    if target not in frame:
        raise ValueError(f"target column {target!r} not found; columns: {list(frame.columns)}")
    features = [c for c in frame.columns if c != target] if features is None else list(features)
    missing = [c for c in features if c not in frame]
    if missing:
        raise ValueError(f"feature column {missing[0]!r} not found; columns: {list(frame.columns)}")
    labels = frame[target]
    if task is None:
        numeric_float = labels.dtype.kind == "f"
        task = REGRESSION if numeric_float else CLASSIFICATION
    if task == CLASSIFICATION:
        _, y = np.unique(labels.to_numpy(), return_inverse=True)
    else:
        y = labels.to_numpy(dtype=float)
    return Dataset(frame[features].to_numpy(dtype=float), y, task)


def generate(generator: str, **options) -> Dataset:
    """Call the generator named ``generator`` with ``options``."""
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {sorted(GENERATORS)}, got {generator!r}")
    try:
        return GENERATORS[generator](**options)
    except TypeError as error:
        raise ValueError(f"generator {generator!r}: {error}") from None


def split(
    dataset: Dataset,
    test_fraction: float = 0.2,
    shuffle: bool = False,
    seed: int = 0,
    stratify: bool = False,
) -> Split:
    """Split rows into train and test; ``round(n·test_fraction)`` rows go to the test set.

    Unshuffled, the test set is the last rows (the article's rows 0–79 / 80–99). Shuffled, rows
    are permuted with ``RandomState(seed)``; ``stratify`` (classification only) keeps each
    class's share in both parts.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n = len(dataset.y)
    n_test = int(round(n * test_fraction))
    if n_test == 0 or n_test == n:
        raise ValueError(
            f"test_fraction {test_fraction} leaves an empty train or test set for n={n}"
        )
    if stratify:
        if dataset.task != CLASSIFICATION:
            raise ValueError("stratify is allowed only for classification data sets")
        rng = np.random.RandomState(seed)
        train, test = [], []
        for label in np.unique(dataset.y):
            rows = np.flatnonzero(dataset.y == label)
            if shuffle:
                rows = rng.permutation(rows)
            k = int(round(len(rows) * test_fraction))
            train.append(rows[: len(rows) - k])
            test.append(rows[len(rows) - k :])
        return Split(train=np.sort(np.concatenate(train)), test=np.sort(np.concatenate(test)))
    rows = np.random.RandomState(seed).permutation(n) if shuffle else np.arange(n)
    return Split(train=rows[: n - n_test], test=rows[n - n_test :])


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_non_negative(name: str, value) -> None:
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def _check_range(name: str, value) -> tuple[float, float]:
    low, high = value
    if not high > low:
        raise ValueError(f"{name} must be [low, high] with high > low, got {list(value)!r}")
    return float(low), float(high)


def save_dataset(path, dataset: Dataset) -> None:
    """Write a data set to an ``.npz`` file."""
    np.savez(path, x=dataset.x, y=dataset.y, task=dataset.task)


def load_dataset(path) -> Dataset:
    """Read a data set written by :func:`save_dataset`."""
    with np.load(path) as stored:
        return Dataset(x=stored["x"], y=stored["y"], task=str(stored["task"]))


def save_split(path, train: Dataset, test: Dataset) -> None:
    """Write a train/test pair to one ``.npz`` file."""
    np.savez(path, x_train=train.x, y_train=train.y, x_test=test.x, y_test=test.y, task=train.task)


def load_split(path) -> tuple[Dataset, Dataset]:
    """Read the ``(train, test)`` pair written by :func:`save_split`."""
    with np.load(path) as stored:
        task = str(stored["task"])
        return (
            Dataset(stored["x_train"], stored["y_train"], task),
            Dataset(stored["x_test"], stored["y_test"], task),
        )


def split_dataset(dataset: Dataset, **options) -> tuple[Dataset, Dataset]:
    """``(train, test)`` data sets of :func:`split` applied to ``dataset``."""
    rows = split(dataset, **options)
    return tuple(Dataset(dataset.x[r], dataset.y[r], dataset.task) for r in (rows.train, rows.test))

"""Synthetic data sets, deterministic from a seed; the train/validation/test split.

Every generator returns a :class:`Dataset` of float64 NumPy arrays; ``x`` is ``(n, d)`` and
``y`` is ``(n, 1)`` for regression or ``(n,)`` integer class labels for classification. The real
data sources (bundled, MNIST-1D, files, Keras archives) are in :mod:`decaylab.sources`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from decaylab import sources
from decaylab.dataset import CLASSIFICATION, REGRESSION, Dataset


@dataclass(frozen=True)
class Split:
    """Row indices of the training, validation (possibly empty) and test set."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


class Parts(NamedTuple):
    """The prepared parts of a data set; ``validation`` is None when the split has none."""

    train: Dataset
    validation: Dataset | None
    test: Dataset


def linear(
    n: int = 100,
    n_features: int = 1,
    slope: float = 3.0,
    intercept: float = 5.0,
    noise: float = 1.0,
    x_range: tuple[float, float] = (0.0, 2.0),
    seed: int = 0,
) -> Dataset:
    """The article's problem: ``n`` points ``y = slope·x + intercept + noise·ε``,
    ``x ~ U(x_range)``, ε ~ N(0, 1).

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
    """Bishop's curve fitting (PRML §1.1): ``n`` points ``y = sin(2πx) + noise·ε``,
    ``x ~ U(x_range)``, drawn with ``RandomState(seed)``."""
    _check_positive_int("n", n)
    _check_non_negative("noise", noise)
    low, high = _check_range("x_range", x_range)
    rng = np.random.RandomState(seed)
    x = low + (high - low) * rng.rand(n, 1)
    y = np.sin(2 * np.pi * x) + noise * rng.randn(n, 1)
    return Dataset(x=x, y=y, task=REGRESSION)


def moons(n: int = 200, noise: float = 0.2, seed: int = 0) -> Dataset:
    """``n`` points of two interleaving half circles (the construction of scikit-learn's
    ``make_moons``), drawn with ``RandomState(seed)``.

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
    """``n_classes`` interleaved spiral arms (CS231n's toy set), ``n // n_classes`` points each,
    drawn with ``RandomState(seed)``.

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


def truth(generator: str, **options):
    """The noise-free function of the synthetic 1-d regression source ``generator`` with its
    ``options``, or None: ``linear``'s
    ``slope·x + intercept`` (one feature), ``sine``'s ``sin(2πx)``."""
    if generator == "linear" and options.get("n_features", 1) == 1:
        slope, intercept = options.get("slope", 3.0), options.get("intercept", 5.0)
        return lambda x: slope * x + intercept
    if generator == "sine":
        return lambda x: np.sin(2 * np.pi * x)
    return None


def generators() -> dict:
    """Every data source by name: the synthetic ones here and those of :mod:`sources`."""
    return {
        **GENERATORS,
        **{
            name: getattr(sources, name)
            for name in ("digits", "breast_cancer", "wine", "iris", "diabetes", "mnist1d", "file")
        },
        **{name: functools.partial(sources.keras_dataset, name) for name in sources.ARCHIVES},
    }


def generate(generator: str, **options) -> Dataset:
    """Call the data source named ``generator`` with ``options``."""
    available = generators()
    if generator not in available:
        raise ValueError(f"generator must be one of {sorted(available)}, got {generator!r}")
    for key in ("x_range", "padding"):
        if key in options:
            options[key] = tuple(options[key])
    try:
        return available[generator](**options)
    except TypeError as error:
        raise ValueError(f"generator {generator!r}: {error}") from None


def split(
    dataset: Dataset,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    shuffle: bool = False,
    seed: int = 0,
    stratify: bool = False,
    subset: int | None = None,
    standardize: bool = False,
) -> Split:
    """Rows of ``dataset``'s training, validation and test parts.

    ``round(n·test_fraction)`` rows go to the test set and ``round(n·validation_fraction)`` to the
    validation set. Unshuffled, the test set is the last rows (the article's rows 0–79 / 80–99) and
    the validation set the rows before them. With ``shuffle``, rows are permuted with
    ``RandomState(seed)``; ``stratify`` (classification only) keeps each class's share in every
    part. ``subset`` keeps that many training rows (stratified when ``stratify``, drawn with the
    same seed), the other parts unchanged, so that training-set sizes can be compared on one test
    set. ``standardize`` is :func:`prepare`'s, accepted here so a split's options can be passed
    whole."""
    del standardize
    n = len(dataset.y)
    fractions = _checked_fractions(n, test_fraction, validation_fraction)
    rng = np.random.RandomState(seed)
    if stratify:
        if dataset.task != CLASSIFICATION:
            raise ValueError("stratify is allowed only for classification data sets")
        rows = _stratified_rows(dataset, fractions, shuffle, rng)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        rows = _parts_of(order, fractions)
    if subset is not None:
        rows["train"] = _subset(dataset, rows["train"], subset, stratify, rng)
    return Split(**rows)


def _checked_fractions(n: int, test_fraction: float, validation_fraction: float) -> dict:
    """``{"test": test_fraction, "validation": validation_fraction}`` once every part of ``n``
    rows is sure to be non-empty (an empty validation part where its fraction is 0)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if not 0 <= validation_fraction < 1 - test_fraction:
        raise ValueError(
            f"validation_fraction must be in [0, 1 − test_fraction), got {validation_fraction!r}"
        )
    fractions = {"test": test_fraction, "validation": validation_fraction}
    for part, fraction in fractions.items():
        if fraction and int(round(n * fraction)) == 0:
            raise ValueError(f"{part}_fraction {fraction} leaves an empty {part} set for n={n}")
    if n - sum(int(round(n * f)) for f in fractions.values()) <= 0:
        raise ValueError(f"the fractions leave an empty training set for n={n}")
    return fractions


def _parts_of(order: np.ndarray, fractions: dict) -> dict[str, np.ndarray]:
    """``order`` cut into the training, validation and test parts, in that order:
    ``round(n·fraction)`` rows for validation and test, the first rows for training."""
    n = len(order)
    n_test = int(round(n * fractions["test"]))
    n_validation = int(round(n * fractions["validation"]))
    n_train = n - n_test - n_validation
    return {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_validation],
        "test": order[n_train + n_validation :],
    }


def _stratified_rows(dataset: Dataset, fractions: dict, shuffle: bool, rng) -> dict:
    """The parts' rows, each class split by itself (:func:`_parts_of`, its rows permuted with
    ``rng`` when ``shuffle``), so that every part keeps each class's share; sorted."""
    needed = 1 + sum(1 for f in fractions.values() if f)
    parts = {"train": [], "validation": [], "test": []}
    for label in np.unique(dataset.y):
        rows = np.flatnonzero(dataset.y == label)
        if len(rows) < needed:
            raise ValueError(
                f"class {label} has {len(rows)} row(s); a stratified split into "
                f"{needed} parts needs at least {needed} per class"
            )
        rows = rng.permutation(rows) if shuffle else rows
        for part, chosen in _parts_of(rows, fractions).items():
            parts[part].append(chosen)
    return {part: np.sort(np.concatenate(chosen)) for part, chosen in parts.items()}


def subsample(dataset: Dataset, size: int, seed: int = 0) -> Dataset:
    """``size`` rows of ``dataset`` (a training part), drawn with ``RandomState(seed)`` and per
    class in proportion for classification, so that training-set sizes can be swept inside one
    split; a smaller size's rows are among a larger one's for every class that keeps its order
    of draws (all of them when unstratified)."""
    rows = _subset(
        dataset,
        np.arange(len(dataset.y)),
        size,
        dataset.task == CLASSIFICATION,
        np.random.RandomState(seed),
    )
    return Dataset(dataset.x[rows], dataset.y[rows], dataset.task, dataset.input_shape)


def _subset(dataset: Dataset, rows: np.ndarray, size: int, stratify: bool, rng) -> np.ndarray:
    """``size`` of ``rows``, drawn with ``rng``; per class in proportion when ``stratify``
    (largest remainders), so that every class keeps its share to one row."""
    if not 1 <= size <= len(rows):
        raise ValueError(f"subset must be in [1, {len(rows)}] (the training rows), got {size!r}")
    if not stratify:
        return np.sort(rng.permutation(rows)[:size])
    labels, counts = np.unique(dataset.y[rows], return_counts=True)
    if size < len(labels):
        raise ValueError(f"subset {size} is smaller than the number of classes ({len(labels)})")
    exact = counts * size / len(rows)
    take = np.maximum(np.floor(exact).astype(int), 1)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if take.sum() >= size:
            break
        take[i] += 1
    while take.sum() > size:  # the minimum of one row per class can overshoot
        take[np.argmax(take)] -= 1
    chosen = [
        rng.permutation(rows[dataset.y[rows] == label])[:count]
        for label, count in zip(labels, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def prepare(dataset: Dataset, rows: Split, standardize: bool = False) -> Parts:
    """The parts of ``dataset`` at ``rows``; with ``standardize``, every feature is shifted and
    scaled by the training part's mean and standard deviation (``(x − μ_train) / σ_train``,
    σ = 1 for a constant feature), so nothing of the validation or test part leaks in."""
    x = dataset.x
    if standardize:
        mean = x[rows.train].mean(axis=0)
        scale = x[rows.train].std(axis=0)
        x = (x - mean) / np.where(scale > 0, scale, 1.0)

    def part(indices):
        return Dataset(x[indices], dataset.y[indices], dataset.task, dataset.input_shape)

    validation = part(rows.validation) if len(rows.validation) else None
    return Parts(part(rows.train), validation, part(rows.test))


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
    """Write ``dataset`` to the ``.npz`` file ``path``."""
    np.savez(
        path,
        x=dataset.x,
        y=dataset.y,
        task=dataset.task,
        input_shape=np.asarray(dataset.input_shape, dtype=np.int64),
    )


def load_dataset(path) -> Dataset:
    """Read the data set at ``path``, written by :func:`save_dataset`."""
    with np.load(path) as stored:
        return Dataset(stored["x"], stored["y"], str(stored["task"]), tuple(stored["input_shape"]))


PARTS = ("train", "validation", "test")


def save_split(path, parts: Parts) -> None:
    """Write prepared ``parts`` to the ``.npz`` file ``path`` (an absent validation part as 0
    rows)."""
    arrays = {}
    for name in PARTS:
        part = getattr(parts, name)
        if part is not None:
            arrays |= {f"x_{name}": part.x, f"y_{name}": part.y}
    np.savez(
        path,
        **arrays,
        task=parts.train.task,
        input_shape=np.asarray(parts.train.input_shape, dtype=np.int64),
    )


def load_split(path) -> Parts:
    """Read the parts at ``path``, written by :func:`save_split`."""
    with np.load(path) as stored:
        task, shape = str(stored["task"]), tuple(stored["input_shape"])
        return Parts(
            *(
                Dataset(stored[f"x_{name}"], stored[f"y_{name}"], task, shape)
                if f"x_{name}" in stored.files
                else None
                for name in PARTS
            )
        )


def split_dataset(dataset: Dataset, **options) -> Parts:
    """The :class:`Parts` of ``dataset`` split by :func:`split` and :func:`prepare`d."""
    return prepare(dataset, split(dataset, **options), options.get("standardize", False))

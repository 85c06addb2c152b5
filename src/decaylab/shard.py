"""What a shard is: the settings its runs share (:class:`ShardConfig`), their own values
(:class:`Runs`), checked against the registry, what it records (:data:`HISTORY_COLUMNS`), and
how its runs and training rows are laid out for the compiled chunk (:class:`Layout`): updates
per epoch, the runs' bucket, the epochs one compiled call trains, the padding of runs and of the
last mini-batch. No backend is loaded here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from decaylab import models, registry

HISTORY_COLUMNS = (  # what a shard records every history_stride epochs, in order
    "epoch",
    "train_loss",
    "validation_loss",
    "validation_accuracy",
    "test_loss",
    "test_accuracy",
    "scheduled_learning_rate",
    "weight_norm",
    "angular_update",
)

ORDER_BUDGET_BYTES = 32 * 2**20
"""Most memory one chunk's mini-batch order (and its history records) may take."""

MAX_CHUNK_EPOCHS = 1024


@dataclass(frozen=True)
class ShardConfig:
    """Everything the runs of one shard share.

    ``schedule`` and ``regularization`` are the kinds of the runs that do not name their own;
    ``staircase``, ``cycle``, ``boundaries`` and ``factors`` are the schedules' shard-wide
    options (see ``registry.SCHEDULES``).
    """

    model: models.ModelSpec = field(default_factory=models.ModelSpec)
    optimizer: str = "sgd"
    nesterov: bool = False
    schedule: str = "constant"
    staircase: bool = False
    cycle: bool = False
    boundaries: tuple[int, ...] = ()
    factors: tuple[float, ...] = ()
    regularization: str = "none"
    epochs: int = 100
    batch_size: int = 32
    shuffle: bool = False
    history_stride: int = 1
    dtype: str = "float32"

    def __post_init__(self):
        _check_choice("optimizer", self.optimizer, registry.OPTIMIZERS)
        _check_choice("schedule", self.schedule, registry.SCHEDULES)
        _check_choice("regularization", self.regularization, registry.REGULARIZATIONS)
        _check_choice("dtype", self.dtype, ("float32", "float64"))
        for name in ("epochs", "batch_size", "history_stride"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @property
    def schedule_options(self) -> dict:
        """The schedules' shard-wide options by name, as the schedules read them."""
        return {
            "staircase": self.staircase,
            "cycle": self.cycle,
            "boundaries": self.boundaries,
            "factors": self.factors,
        }

    def check_piecewise(self):
        """``piecewise`` needs increasing boundaries and one more factor than boundaries."""
        if len(self.factors) != len(self.boundaries) + 1 or not self.boundaries:
            raise ValueError(
                "piecewise needs boundaries (increasing steps) and one more factor than "
                f"boundaries, got boundaries={list(self.boundaries)}, "
                f"factors={list(self.factors)}"
            )
        if list(self.boundaries) != sorted(set(self.boundaries)):
            raise ValueError(f"boundaries must be strictly increasing, got {list(self.boundaries)}")


@dataclass(frozen=True)
class Runs:
    """The per-run values of a shard: ``hp`` name → ``(K,)`` numbers, kinds by name."""

    hp: dict[str, np.ndarray]
    schedule: tuple[str, ...]
    regularization: tuple[str, ...]

    def __len__(self):
        return len(self.schedule)

    def kinds(self, which: str) -> tuple[str, ...]:
        """The distinct kinds of ``schedule`` or ``regularization`` in registry order."""
        present = set(getattr(self, which))
        return tuple(k for k in registry.PER_RUN_KINDS[which] if k in present)

    def padded_to(self, k: int) -> Runs:
        """The runs, then copies of the last up to ``k`` runs (trained and left out of results)."""
        extra = k - len(self)
        return Runs(
            hp={name: np.concatenate([v, np.repeat(v[-1:], extra)]) for name, v in self.hp.items()},
            schedule=self.schedule + self.schedule[-1:] * extra,
            regularization=self.regularization + self.regularization[-1:] * extra,
        )

    def indices(self, which: str) -> np.ndarray:
        """Each run's kind as an index into :meth:`kinds`."""
        kinds = self.kinds(which)
        return np.array([kinds.index(k) for k in getattr(self, which)], dtype=np.int32)


def updates_per_epoch(rows: int, batch_size: int) -> int:
    """Optimizer updates per epoch, ``M = ⌈rows / batch_size⌉`` (the last mini-batch may be
    partial)."""
    return -(-rows // batch_size)


def bucket(k: int) -> int:
    """The number of runs a shard of ``k`` runs is compiled for: the smallest ``m·2^e ≥ k`` with
    ``m ≤ 16`` (every k from 2 to 16, then 18, 20, … 32, 36, 40 …), so that a shard given another
    seed or grid point reuses the compiled chunk; the padding costs at most 1/8 more work. One
    run is padded to two: XLA compiles a batch of one to other sums (a run's numbers would
    depend on whether it trained alone, by about 1e-7, amplified where training is chaotic)."""
    if k == 1:  # a batch of one run is compiled to other sums than a batch of several
        return 2
    step = 2 ** max(0, int(k - 1).bit_length() - 4)
    return -(-k // step) * step


@dataclass(frozen=True)
class Layout:
    """How a shard's runs and training rows are laid out for the compiled chunk.

    ``padded_runs`` is the bucket the runs are padded to (:func:`bucket`); the ``rows``
    training rows go in :attr:`updates_per_epoch` mini-batches of ``batch_size``, the last one
    padded with row 0 (:meth:`row_mask` masks it out); one compiled call trains up to
    ``capacity`` epochs. The number of epochs is not part of it, so that shards of other lengths
    share one compiled chunk where their ``capacity`` is the same.
    """

    padded_runs: int
    rows: int
    batch_size: int
    shuffle: bool
    capacity: int

    @classmethod
    def of(cls, config: ShardConfig, runs: int, rows: int) -> Layout:
        """The layout of ``runs`` runs, padded to K' = :func:`bucket` runs, on ``rows`` training
        rows, with ``capacity = min(2^⌈log2(epochs + 1)⌉, MAX_CHUNK_EPOCHS, ORDER_BUDGET_BYTES /
        bytes per epoch)``: room for every record of the shard (epochs + 1, rounded up to a
        power of two so that shards of nearby lengths share it), within the budget of a chunk's
        history records (K'·8 bytes per column) and, shuffled, its mini-batch order (K'·M·B·4
        bytes).
        """
        padded = bucket(runs)
        per_epoch = padded * len(HISTORY_COLUMNS) * 8
        if config.shuffle:
            per_epoch += padded * updates_per_epoch(rows, config.batch_size) * config.batch_size * 4
        epochs_bucket = 2 ** int(config.epochs).bit_length()
        capacity = max(1, min(epochs_bucket, MAX_CHUNK_EPOCHS, ORDER_BUDGET_BYTES // per_epoch))
        return cls(padded, rows, config.batch_size, config.shuffle, int(capacity))

    @property
    def updates_per_epoch(self) -> int:
        """Mini-batches (optimizer updates) per epoch: ``M = ⌈rows / batch_size⌉``."""
        return updates_per_epoch(self.rows, self.batch_size)

    def row_mask(self) -> np.ndarray:
        """``(M, B)``: 1 for a real row, 0 for the padding of the last, partial mini-batch."""
        slots = self.updates_per_epoch * self.batch_size
        return (np.arange(slots) < self.rows).reshape(self.updates_per_epoch, self.batch_size)

    def batch_order(self, first_epoch: int, n_epochs: int, epochs: int, rngs) -> np.ndarray:
        """Row indices of every mini-batch of epochs ``first_epoch … first_epoch + n_epochs − 1``
        of a shard of ``epochs`` epochs.

        Shuffled: ``(padded_runs, capacity, M, B)``, epoch e of run k the e-th permutation drawn
        from ``RandomState(seed_k)`` (the generators in ``rngs``, one per real run, advance one
        epoch per epoch trained; the padding runs repeat the last run's order); unshuffled:
        ``(1, 1, M, B)``, rows in order. The last mini-batch is padded with row 0.
        """
        steps, batch = self.updates_per_epoch, self.batch_size
        padding = np.zeros(steps * batch - self.rows, dtype=np.int32)

        def in_batches(rows):
            return np.concatenate([rows, padding]).reshape(steps, batch)

        if not self.shuffle:
            return in_batches(np.arange(self.rows, dtype=np.int32))[None, None]
        order = np.zeros((self.padded_runs, self.capacity, steps, batch), dtype=np.int32)
        for i in range(n_epochs):
            if first_epoch + i >= epochs:  # the final record-only pass trains nothing
                break
            for k, rng in enumerate(rngs):
                order[k, i] = in_batches(rng.permutation(self.rows))
        order[len(rngs) :] = order[len(rngs) - 1]
        return order


def resolve_runs(config: ShardConfig, runs) -> Runs:
    """Fill defaults and validate per-run values against the registry.

    Each run is a mapping of hyper-parameters (``registry.HYPERPARAMETERS``) and optionally its
    ``schedule`` and ``regularization`` kinds (default: the config's).
    """
    records = runs.to_dict("records") if isinstance(runs, pd.DataFrame) else list(runs)
    if not records:
        raise ValueError("a shard needs at least one run")
    allowed_keys = set(registry.HYPERPARAMETERS) | set(registry.PER_RUN_KINDS)
    hp = {name: [] for name in registry.HYPERPARAMETERS}
    kinds = {"schedule": [], "regularization": []}
    for index, record in enumerate(records):
        unknown = sorted(set(record) - allowed_keys)
        if unknown:
            raise ValueError(
                f"run {index}: unknown hyper-parameter {unknown[0]!r}; "
                f"allowed: {sorted(allowed_keys)}"
            )
        for which, table in registry.PER_RUN_KINDS.items():
            kind = record.get(which) or getattr(config, which)
            _check_choice(f"run {index}: {which}", kind, table)
            kinds[which].append(kind)
        if kinds["schedule"][-1] == "piecewise":
            config.check_piecewise()
        for name in registry.HYPERPARAMETERS:
            declared = registry.declaration(
                name, config.optimizer, kinds["schedule"][-1], kinds["regularization"][-1]
            )
            value = record.get(name)
            value = declared.default if value is None else value
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"run {index}: {name} must be a number, got {value!r}")
            if not declared.allows(value):
                used_by = f" for {kinds['schedule'][-1]}" if name == "decay_rate" else ""
                raise ValueError(
                    f"run {index}: {name} must be {declared.allowed}{used_by}, got {value!r}"
                )
            hp[name].append(value)
    return Runs(
        hp={name: np.asarray(values) for name, values in hp.items()},
        schedule=tuple(kinds["schedule"]),
        regularization=tuple(kinds["regularization"]),
    )


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")

"""What a shard is: the settings its runs share (:class:`ShardConfig`) and their own values
(:class:`Runs`), checked against the registry. No backend is loaded here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from decaylab import models, registry


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

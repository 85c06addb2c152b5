"""The engine: trains a shard of K runs in compiled chunks of epochs.

A *shard* is a set of runs that share everything that changes the computation's shapes or the
optimizer's state (data, model, optimizer, epochs, batch size, shuffling, dtype): a
:class:`ShardConfig`. Everything else is per run: the numbers (learning rate, decay rate,
strength, momentum or betas, seed …) are a leading axis K of every parameter and
hyper-parameter tensor, and the schedule and regularization kinds are per-run indices (every
kind present in the shard is computed and each run selects its own, which costs next to nothing).

Training runs in *chunks*: one compiled call trains up to ``capacity`` epochs; between calls,
Python reports progress, honours a stop request and writes an atomic checkpoint from which a
later call resumes bit-identically. The mini-batch order is drawn per chunk, so memory does not
grow with the number of epochs.

Conventions (the same everywhere in decaylab):

* regression training loss ``½·mean((y − f)²) + penalty``; reported validation and test metric
  ``mean((y − f)²)``; classification: mean softmax cross-entropy, accuracy;
* metrics are taken in inference mode (batch normalization by its running statistics);
* ``l2``: penalty ``λ/2·Σ w²``; ``l1``: ``λ·Σ |w|`` (kernels only, never biases);
* ``decoupled_lr``: ``w ← w − η_t·λ·w`` (Keras ``weight_decay``); ``decoupled``:
  ``w ← w − (η_t/η0)·λ·w`` (Loshchilov & Hutter);
* ``step`` counts optimizer updates from 0; the last mini-batch of an epoch may be partial, as in
  Keras ``fit``.

A run whose loss or parameters become non-finite is frozen at its last finite state and marked
``diverged`` with the (0-based) epoch in which it happened; the other runs are untouched.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from decaylab import backend  # first: it starts Keras, with the native libraries' logs filtered

# isort: split
from keras import ops, tree

from decaylab import files, grid, models, registry, transforms
from decaylab.data import CLASSIFICATION, Dataset
from decaylab.schedules import SCHEDULES
from decaylab.tables import HISTORY_COLUMNS

ORDER_BUDGET_BYTES = 32 * 2**20
"""Most memory one chunk's mini-batch order (and its history records) may take."""
MAX_CHUNK_EPOCHS = 1024
CHECKPOINT_FORMAT = 2


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

    def indices(self, which: str) -> np.ndarray:
        """Each run's kind as an index into :meth:`kinds`."""
        kinds = self.kinds(which)
        return np.array([kinds.index(k) for k in getattr(self, which)], dtype=np.int32)


@dataclass(frozen=True)
class Progress:
    """Where a shard stands after a chunk."""

    epoch: int
    epochs: int
    diverged: int
    runs: int
    best_train_loss: float
    elapsed: float
    resumed_from: int
    seconds_per_epoch: float

    @property
    def eta(self) -> float:
        """Seconds left at the pace measured after the first chunk (which compiles); NaN before."""
        return self.seconds_per_epoch * (self.epochs - self.epoch)


@dataclass
class ShardResult:
    """One row per run (settings and final metrics), a tidy history, the learned parameters
    (with batch normalization's running statistics, as :func:`models.init_params` lays them)."""

    runs: pd.DataFrame
    history: pd.DataFrame
    params: list[dict[str, np.ndarray]]
    device: str
    seconds: float
    resumed_from: int = 0
    provenance: dict | None = None  # filled by decaylab.runner.train


class Interrupted(Exception):
    """Training stopped on request after ``epoch`` epochs (a checkpoint was written if asked)."""

    def __init__(self, epoch: int, checkpoint: Path | None):
        where = f"; checkpoint {checkpoint}" if checkpoint else ""
        super().__init__(f"training stopped on request after epoch {epoch}{where}")
        self.epoch = epoch
        self.checkpoint = checkpoint


class TrainingState(NamedTuple):
    """What a chunk carries from one epoch to the next."""

    params: Any
    optimizer: Any
    active: Any
    diverged_epoch: Any
    statistics: Any


class Data(NamedTuple):
    """The prepared parts; without a validation part, its fields repeat the test part's and
    the plan does not read them."""

    x_train: Any
    y_train: Any
    x_validation: Any
    y_validation: Any
    x_test: Any
    y_test: Any


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


def train_shard(
    train: Dataset,
    test: Dataset,
    config: ShardConfig,
    runs,
    threads: int | None = None,
    device: str = "auto",
    *,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_seconds: float = 60.0,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk_epochs: int | None = None,
    target_chunk_seconds: float = 1.5,
    validation: Dataset | None = None,
) -> ShardResult:
    """Train every run of ``runs`` (a list of dicts or a DataFrame of per-run values).

    ``validation`` (optional) is evaluated with the test set at every recorded epoch.

    ``threads`` sets the backend's CPU threads; ``device`` is ``cpu``, ``gpu`` (an error without
    a GPU) or ``auto``. Training runs in chunks of about ``target_chunk_seconds`` (or exactly
    ``chunk_epochs`` epochs); after each, ``on_progress`` gets a :class:`Progress`,
    ``should_stop()`` may end training with :class:`Interrupted`, and every
    ``checkpoint_seconds`` the state is written atomically to ``checkpoint``. A call with the
    same arguments finds that checkpoint, resumes from it and ends bit-identical to an
    uninterrupted run; the checkpoint is removed when the shard finishes.
    """
    if threads is not None:
        backend.set_threads(int(threads))
    resolved = resolve_runs(config, runs)
    n_train = len(train.y)
    if config.batch_size > n_train:
        raise ValueError(
            f"batch_size {config.batch_size} is larger than the training set ({n_train} rows)"
        )
    parts = [train, test] + ([validation] if validation is not None else [])
    if any(part.task != train.task for part in parts):
        raise ValueError("the training, validation and test sets pose different tasks")
    placed_on = backend.resolve_device(device)
    dtype, spec = config.dtype, config.model
    n_classes = max(part.n_classes for part in parts)
    held_out = validation if validation is not None else test
    arrays = tuple(
        array
        for part in (train, held_out, test)
        for array in (
            models.features(spec, part.x, train.input_shape).astype(dtype),
            _targets(part, dtype, n_classes),
        )
    )
    seeds = resolved.hp["seed"].astype(np.int64)
    k, steps = len(resolved), grid.updates_per_epoch(n_train, config.batch_size)
    capacity = chunk_capacity(config, k, steps)
    plan = Plan(
        config=config,
        task=train.task,
        n_train=n_train,
        has_validation=validation is not None,
        schedules=resolved.kinds("schedule"),
        regularizations=resolved.kinds("regularization"),
        capacity=capacity,
        device=placed_on,
    )
    checkpoint = Path(checkpoint) if checkpoint else None
    fingerprint = _fingerprint(config, resolved, arrays)

    started = time.perf_counter()
    with backend.device_scope(placed_on):
        hp = {name: ops.convert_to_tensor(v.astype(dtype)) for name, v in resolved.hp.items()}
        kind_indices = {
            which: ops.convert_to_tensor(resolved.indices(which))
            for which in ("schedule", "regularization")
        }
        data = Data(*(ops.convert_to_tensor(a) for a in arrays))
        initial = models.init_params(spec, arrays[0].shape[1:], arrays[1].shape[1], seeds)
        initial = tree.map_structure(lambda p: ops.convert_to_tensor(p.astype(dtype)), initial)
        params0, statistics0 = models.split_statistics(initial)
        optimizer = make_optimizer(plan, models.decay_mask(params0))
        state = TrainingState(
            params0,
            optimizer.init(params0, hp),
            ops.ones((k,), dtype="bool"),
            ops.full((k,), -1, dtype="int32"),
            statistics0,
        )
        rngs = [np.random.RandomState(int(seed)) for seed in seeds]
        records: list[np.ndarray] = []
        epoch = 0
        restored = _load_checkpoint(checkpoint, fingerprint, state) if checkpoint else None
        if restored is not None:
            state, epoch, records, rng_states = restored
            for rng, rng_state in zip(rngs, rng_states, strict=True):
                rng.set_state(rng_state)
        resumed_from = epoch
        chunk = _compiled_chunk(plan)
        mask = ops.convert_to_tensor(_row_mask(n_train, config.batch_size).astype(dtype))
        last_checkpoint = time.monotonic()
        best = np.nan
        n_epochs = chunk_epochs or 1
        calls, pace_from = 0, None  # (time, epoch) at the end of the first chunk
        while epoch <= config.epochs:
            n_epochs = min(n_epochs, capacity, config.epochs + 1 - epoch)
            order = batch_order(n_train, config.batch_size, epoch, n_epochs, capacity, config, rngs)
            call_started = time.perf_counter()
            state, chunk_records = chunk(
                state,
                hp,
                kind_indices,
                data,
                ops.convert_to_tensor(order),
                mask,
                ops.convert_to_tensor(np.int32(epoch)),
                ops.convert_to_tensor(np.int32(n_epochs)),
            )
            chunk_records = ops.convert_to_numpy(chunk_records)
            seconds = time.perf_counter() - call_started
            kept = chunk_records[~np.isnan(chunk_records[:, 0, 0])]
            records.extend(kept)
            if len(kept):
                best = float(np.nanmin(kept[-1][:, 1]))
            epoch += n_epochs
            calls += 1
            trained = min(epoch, config.epochs)
            now = time.perf_counter()
            pace = np.nan
            if pace_from is None:
                pace_from = (now, trained)
            elif trained > pace_from[1]:
                pace = (now - pace_from[0]) / (trained - pace_from[1])
            if on_progress is not None:
                active = ops.convert_to_numpy(state.active)
                on_progress(
                    Progress(
                        trained,
                        config.epochs,
                        int((~active).sum()),
                        k,
                        best,
                        now - started,
                        resumed_from,
                        pace,
                    )
                )
            finished = epoch > config.epochs
            stop = not finished and should_stop is not None and should_stop()
            due = time.monotonic() - last_checkpoint >= checkpoint_seconds
            if checkpoint and not finished and (stop or due):
                _save_checkpoint(checkpoint, fingerprint, state, epoch, records, rngs)
                last_checkpoint = time.monotonic()
            if stop:
                raise Interrupted(trained, checkpoint)
            if chunk_epochs is None:
                n_epochs = _next_chunk(n_epochs, seconds, calls, capacity, target_chunk_seconds)
        params = tree.map_structure(
            ops.convert_to_numpy, models.merge_statistics(state.params, state.statistics)
        )
        diverged_epoch = ops.convert_to_numpy(state.diverged_epoch)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    history = np.stack(records)  # (records, K, columns)
    return ShardResult(
        runs=_runs_table(config, plan, resolved, params, history[-1], diverged_epoch),
        history=_history_table(history),
        params=params,
        device=backend.device_description(placed_on),
        seconds=time.perf_counter() - started,
        resumed_from=resumed_from,
    )


@dataclass(frozen=True)
class Plan:
    """What the compiled chunk depends on besides its arguments' shapes."""

    config: ShardConfig
    task: str
    n_train: int
    has_validation: bool
    schedules: tuple[str, ...]
    regularizations: tuple[str, ...]
    capacity: int
    device: str

    @property
    def steps(self) -> int:
        """Mini-batches (optimizer updates) per epoch: ``⌈n / B⌉``."""
        return grid.updates_per_epoch(self.n_train, self.config.batch_size)

    @property
    def record_slots(self) -> int:
        """Most history records one chunk can hold: every stride, and the final epoch."""
        return self.capacity // self.config.history_stride + 2


def chunk_capacity(config: ShardConfig, k: int, steps: int) -> int:
    """Most epochs one compiled call trains: the order and records of a chunk fit the budget."""
    per_epoch = k * len(HISTORY_COLUMNS) * 8
    if config.shuffle:
        per_epoch += k * steps * config.batch_size * 4
    return int(max(1, min(config.epochs + 1, MAX_CHUNK_EPOCHS, ORDER_BUDGET_BYTES // per_epoch)))


def batch_order(n, batch_size, first_epoch, n_epochs, capacity, config, rngs):
    """Row indices of every mini-batch of epochs ``first_epoch … first_epoch + n_epochs − 1``.

    Shuffled: ``(K, capacity, S, B)``, epoch e of run k the e-th permutation drawn from
    ``RandomState(seed_k)`` (the generators in ``rngs`` advance one epoch per epoch trained);
    unshuffled: ``(1, 1, S, B)``, rows in order. ``S = ⌈n / B⌉``; the last mini-batch is padded
    with row 0, which :func:`_row_mask` masks out.
    """
    steps = grid.updates_per_epoch(n, batch_size)

    def pad(rows):
        return np.concatenate([rows, np.zeros(steps * batch_size - n, dtype=rows.dtype)]).reshape(
            steps, batch_size
        )

    if not config.shuffle:
        return pad(np.arange(n)).astype(np.int32)[None, None]
    order = np.zeros((len(rngs), capacity, steps, batch_size), dtype=np.int32)
    for i in range(n_epochs):
        if first_epoch + i >= config.epochs:  # the final record-only pass trains nothing
            break
        for k, rng in enumerate(rngs):
            order[k, i] = pad(rng.permutation(n))
    return order


def _row_mask(n: int, batch_size: int) -> np.ndarray:
    """``(S, B)``: 1 for a real row, 0 for the padding of the last, partial mini-batch."""
    steps = grid.updates_per_epoch(n, batch_size)
    return (np.arange(steps * batch_size) < n).reshape(steps, batch_size)


def _next_chunk(n_epochs, seconds, calls, capacity, target_seconds):
    """Epochs for the next chunk: about ``target_seconds`` at the pace just measured.

    The first call includes compilation, so the second is a short probe.
    """
    if calls == 1:
        return min(capacity, 2)
    per_epoch = max(seconds / n_epochs, 1e-6)
    return int(np.clip(target_seconds / per_epoch, 1, min(capacity, 8 * n_epochs)))


def make_optimizer(plan: Plan, mask) -> transforms.Transform:
    """The optimizer transform, then decoupled weight decay where a run of the shard asks for it."""
    parts = [transforms.OPTIMIZERS[plan.config.optimizer](plan.config.nesterov)]
    if {"decoupled_lr", "decoupled"} & set(plan.regularizations):
        parts.append(transforms.add_decayed_weights(mask))
    return transforms.chain(*parts)


def regularization_coefficients(plan: Plan, hp, regularization_index):
    """Per-run ``(K,)`` λ of each regularization kind present: λ for its runs, 0 for others."""
    return {
        kind: ops.where(regularization_index == i, hp["strength"], ops.zeros_like(hp["strength"]))
        for i, kind in enumerate(plan.regularizations)
        if kind != "none"
    }


def penalty(params, coefficients):
    """The loss term per run: ``λ/2·Σw²`` for ``l2`` runs plus ``λ·Σ|w|`` for ``l1`` runs
    (0 where the shard has neither)."""
    total = 0.0
    if "l2" in coefficients:
        total = total + 0.5 * coefficients["l2"] * models.squared_norm(params)
    if "l1" in coefficients:
        total = total + coefficients["l1"] * models.abs_norm(params)
    return total


def learning_rate(plan: Plan, step, hp, schedule_index):
    """η_t of every run: each schedule kind present, each run taking its own (``step`` from 0)."""
    options = {
        "staircase": plan.config.staircase,
        "cycle": plan.config.cycle,
        "boundaries": plan.config.boundaries,
        "factors": plan.config.factors,
    }
    rate = None
    for i, kind in enumerate(plan.schedules):
        value = SCHEDULES[kind](step, plan.steps, hp, options)
        rate = value if rate is None else ops.where(schedule_index == i, value, rate)
    return rate


def decoupled_rate(lr, hp, coefficients):
    """The per-run rate ρ of decoupled decay: ``η_t·λ`` (``decoupled_lr``), ``(η_t/η0)·λ``."""
    rate = ops.zeros_like(lr)
    if "decoupled_lr" in coefficients:
        rate = rate + lr * coefficients["decoupled_lr"]
    if "decoupled" in coefficients:
        rate = rate + lr / hp["learning_rate"] * coefficients["decoupled"]
    return rate


def example_losses(outputs, targets, classification: bool):
    """Per example: softmax cross-entropy, or ``½·mean over outputs of (y − f)²``."""
    if classification:
        return -ops.sum(targets * ops.log_softmax(outputs, axis=-1), axis=-1)
    return 0.5 * backend.mean(ops.square(targets - outputs), axis=-1)


def metrics(plan: Plan, params, statistics, coefficients, data: Data):
    """``(K, 6)``: training objective, validation and test loss (MSE or cross-entropy) and
    accuracy (NaN for regression, and for validation when there is no validation part), ‖w‖."""
    spec, classification = plan.config.model, plan.task == CLASSIFICATION
    k = ops.shape(next(iter(tree.flatten(params))))[0]

    def outputs_on(x):
        return models.apply(spec, params, ops.broadcast_to(x[None], (k, *ops.shape(x))), statistics)

    def held_out(x, y):
        out = outputs_on(x)
        if classification:
            loss = backend.mean(example_losses(out, y[None], True), axis=1)
            hits = ops.argmax(out, axis=-1) == ops.argmax(y, axis=-1)[None]
            return loss, backend.mean(ops.cast(hits, out.dtype), axis=1)
        loss = backend.mean(ops.square(y[None] - out), axis=(1, 2))
        return loss, ops.full_like(loss, float("nan"))

    train_out = outputs_on(data.x_train)
    train_loss = backend.mean(example_losses(train_out, data.y_train[None], classification), axis=1)
    train_loss = train_loss + penalty(params, coefficients)
    test_loss, test_accuracy = held_out(data.x_test, data.y_test)
    if plan.has_validation:
        validation_loss, validation_accuracy = held_out(data.x_validation, data.y_validation)
    else:
        validation_loss = validation_accuracy = ops.full_like(test_loss, float("nan"))
    weight_norm = ops.sqrt(models.squared_norm(params))
    return ops.stack(
        [
            train_loss,
            validation_loss,
            validation_accuracy,
            test_loss,
            test_accuracy,
            weight_norm,
        ],
        axis=1,
    )


def train_step(
    plan, optimizer, gradient, state, hp, kinds, coefficients, data, rows, row_mask, step
):
    """One optimizer update of every active run on its mini-batch ``rows`` ``(K or 1, B)``."""
    k = ops.shape(hp["learning_rate"])[0]
    batch = plan.config.batch_size
    xb, yb = (
        ops.broadcast_to(ops.take(a, rows, axis=0), (k, batch, *ops.shape(a)[1:]))
        for a in (data.x_train, data.y_train)
    )
    lr = learning_rate(plan, step, hp, kinds["schedule"])
    (_, (per_run, statistics)), grads = gradient(
        state.params, state.statistics, xb, yb, row_mask, coefficients
    )
    ctx = {
        "hp": hp,
        "lr": lr,
        "weight_decay": decoupled_rate(lr, hp, coefficients),
        "count": step + 1,
    }
    updates, new_optimizer = optimizer.update(grads, state.optimizer, state.params, ctx)
    new_params = transforms.apply_updates(state.params, updates)
    finite = ops.isfinite(per_run)
    for p in tree.flatten(new_params):
        finite = ops.logical_and(finite, ops.all(ops.reshape(ops.isfinite(p), (k, -1)), axis=1))
    still_active = ops.logical_and(state.active, finite)

    def keep(new, old):
        return ops.where(transforms.per_run(still_active, old), new, old)

    return TrainingState(
        tree.map_structure(keep, new_params, state.params),
        tree.map_structure(keep, new_optimizer, state.optimizer),
        still_active,
        state.diverged_epoch,
        tree.map_structure(keep, statistics, state.statistics),
    ), ops.logical_and(state.active, ops.logical_not(finite))


def build_chunk(plan: Plan):
    """The chunk: epochs ``first … first + n − 1`` of training, recording before each epoch.

    Epoch index e in ``[0, epochs]``: the state after e epochs is recorded when e is a multiple
    of the history stride or e = epochs; then, if e < epochs, one epoch of updates is applied.
    Returns the new state and ``(record_slots, K, len(HISTORY_COLUMNS))`` records in epoch
    order (NaN rows left over): the buffer is as small as the stride allows, since the loop
    carries it through every epoch.
    """
    config = plan.config
    classification = plan.task == CLASSIFICATION
    steps, stride, epochs = plan.steps, config.history_stride, config.epochs

    def objective(params, statistics, x, y, row_mask, coefficients):
        outputs, statistics = models.forward(config.model, params, statistics, x, row_mask)
        per_example = example_losses(outputs, y, classification)
        per_run = ops.sum(per_example * row_mask, axis=1) / ops.sum(row_mask)
        per_run = per_run + penalty(params, coefficients)
        return ops.sum(per_run), (per_run, statistics)

    gradient = backend.value_and_grad(objective)

    def chunk(state, hp, kinds, data, order, mask, first_epoch, n_epochs):
        optimizer = make_optimizer(plan, models.decay_mask(state.params))
        coefficients = regularization_coefficients(plan, hp, kinds["regularization"])
        k = ops.shape(hp["learning_rate"])[0]
        records = ops.full(
            (plan.record_slots, k, len(HISTORY_COLUMNS)), float("nan"), hp["learning_rate"].dtype
        )
        first_slot = (first_epoch + stride - 1) // stride  # records before this chunk, by stride

        def record(records, epoch, params, statistics):
            final_off_stride = ops.cast(
                ops.logical_and(epoch == epochs, epoch % stride != 0), "int32"
            )
            i = epoch // stride - first_slot + final_off_stride
            lr = learning_rate(plan, ops.maximum(epoch * steps - 1, 0), hp, kinds["schedule"])
            values = metrics(plan, params, statistics, coefficients, data)
            epoch_column = ops.zeros_like(lr) + ops.cast(epoch, lr.dtype)
            row = ops.concatenate(
                [epoch_column[:, None], values[:, :5], lr[:, None], values[:, 5:]], axis=1
            )
            zero = ops.zeros_like(i)  # one integer type for every index (JAX insists)
            return ops.slice_update(records, (i, zero, zero), row[None])

        def epoch_body(i, carry):
            state, records = carry
            epoch = first_epoch + i
            records = ops.cond(
                ops.logical_or(epoch % stride == 0, epoch == epochs),
                lambda: record(records, epoch, state.params, state.statistics),
                lambda: records,
            )

            def step_body(s, state):
                rows = order[:, i, s] if config.shuffle else order[0, 0, s][None]
                state, newly_diverged = train_step(
                    plan,
                    optimizer,
                    gradient,
                    state,
                    hp,
                    kinds,
                    coefficients,
                    data,
                    rows,
                    mask[s],
                    epoch * steps + s,
                )
                diverged_epoch = ops.where(
                    newly_diverged, ops.cast(epoch, "int32"), state.diverged_epoch
                )
                return state._replace(diverged_epoch=diverged_epoch)

            steps_this_epoch = steps * ops.cast(epoch < epochs, "int32")
            state = ops.fori_loop(0, steps_this_epoch, step_body, state)
            return state, records

        return ops.fori_loop(0, n_epochs, epoch_body, (state, records))

    return chunk


@functools.lru_cache(maxsize=16)
def _compiled_chunk(plan: Plan):
    """The compiled chunk of a plan, kept for later shards of the same plan."""
    return backend.compile(build_chunk(plan))


def _targets(dataset: Dataset, dtype: str, n_classes: int) -> np.ndarray:
    if dataset.task == CLASSIFICATION:
        return np.eye(n_classes, dtype=dtype)[dataset.y]
    return dataset.y.astype(dtype)


def _fingerprint(config: ShardConfig, resolved: Runs, arrays) -> str:
    """A digest of everything a checkpoint's state depends on."""
    digest = hashlib.sha256()
    settings = {
        "format": CHECKPOINT_FORMAT,
        "backend": backend.NAME,
        "config": asdict(config),
        "schedule": resolved.schedule,
        "regularization": resolved.regularization,
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for name in sorted(resolved.hp):
        digest.update(name.encode() + np.ascontiguousarray(resolved.hp[name], np.float64).tobytes())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _save_checkpoint(path: Path, fingerprint, state, epoch, records, rngs) -> None:
    """Write the state after ``epoch`` epochs atomically (a temporary file, then a rename)."""
    leaves = [ops.convert_to_numpy(leaf) for leaf in tree.flatten(state)]
    rng_states = [rng.get_state() for rng in rngs]
    arrays = {f"leaf{i}": leaf for i, leaf in enumerate(leaves)}
    if rng_states:
        arrays["rng_keys"] = np.stack([s[1] for s in rng_states])
        arrays["rng_positions"] = np.array([s[2] for s in rng_states])
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic(path) as temporary, open(temporary, "wb") as stream:
        np.savez(
            stream,
            fingerprint=np.array(fingerprint),
            epoch=np.array(epoch),
            records=np.stack(records) if records else np.zeros((0, 0, 0)),
            **arrays,
        )
        stream.flush()
        os.fsync(stream.fileno())


def _load_checkpoint(path: Path, fingerprint, template):
    """``(state, epoch, records, rng_states)`` from ``path`` if it is this shard's, else None.

    A checkpoint that cannot be read whole — truncated, a flipped bit (the archive's CRC), a
    value of another shape — is never resumed from: a warning names it, and training starts
    from the beginning (the file is replaced at the next checkpoint).
    """
    if not path.exists():
        return None
    expected = tree.flatten(template)
    try:
        with np.load(path) as stored:
            if str(stored["fingerprint"]) != fingerprint:
                return None
            leaves = [stored[f"leaf{i}"] for i in range(len(expected))]
            epoch = int(stored["epoch"])
            records = list(stored["records"])
            rng_states = [
                ("MT19937", keys, int(position), 0, 0.0)
                for keys, position in zip(
                    stored.get("rng_keys", []), stored.get("rng_positions", []), strict=True
                )
            ]
        for leaf, like in zip(leaves, expected, strict=True):
            if tuple(leaf.shape) != tuple(ops.shape(like)):
                raise ValueError(f"a value of shape {leaf.shape}, not {tuple(ops.shape(like))}")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(
            f"checkpoint {path} is unreadable ({type(error).__name__}: {error}); training "
            "starts from the beginning",
            stacklevel=2,
        )
        return None
    state = tree.pack_sequence_as(template, [ops.convert_to_tensor(leaf) for leaf in leaves])
    return state, epoch, records, rng_states


def _runs_table(config, plan: Plan, resolved: Runs, params, final, diverged_epoch):
    """One row per run: its per-run values and the metrics of the last record."""
    metrics_ = dict(zip(HISTORY_COLUMNS, final.T, strict=True))
    table = pd.DataFrame(
        {
            "schedule": resolved.schedule,
            "regularization": resolved.regularization,
            **{name: values for name, values in resolved.hp.items()},
        }
    )
    table["seed"] = table["seed"].astype(int)
    table["train_loss"] = metrics_["train_loss"]
    parts = ["validation", "test"] if plan.has_validation else ["test"]
    for part in parts:
        table[f"{part}_loss"] = metrics_[f"{part}_loss"]
        if plan.task == CLASSIFICATION:
            table[f"{part}_accuracy"] = metrics_[f"{part}_accuracy"]
        else:
            table[f"{part}_mse"] = metrics_[f"{part}_loss"]
    table["weight_norm"] = metrics_["weight_norm"]
    table["final_learning_rate"] = metrics_["scheduled_learning_rate"]
    table["diverged"] = diverged_epoch >= 0
    table["diverged_epoch"] = pd.array(
        [int(e) if e >= 0 else None for e in diverged_epoch], dtype="Int64"
    )
    if config.model.kind == "linear" and params[0]["kernel"].shape[1:] == (1, 1):
        table["kernel"] = params[0]["kernel"][:, 0, 0]
        table["bias"] = params[0]["bias"][:, 0]
    return table


def _history_table(history: np.ndarray) -> pd.DataFrame:
    n_records, k, _ = history.shape
    frame = pd.DataFrame(
        history.transpose(1, 0, 2).reshape(k * n_records, -1), columns=list(HISTORY_COLUMNS)
    )
    frame.insert(0, "run", np.repeat(np.arange(k), n_records))
    frame["epoch"] = frame["epoch"].astype(int)
    return frame


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")

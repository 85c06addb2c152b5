"""The engine: trains a shard of K runs in one compiled loop.

A *shard* is a set of runs that share everything that changes the computation's shape or code
(data, model, optimizer, schedule and regularization kinds, epochs, batch size, shuffling): a
:class:`ShardConfig`. Its runs differ only in numbers (learning rate, decay rate, strength,
momentum or betas, seed …), which become a leading axis K of every parameter and
hyper-parameter tensor, so one compiled loop (all epochs and mini-batches) trains them all.

Conventions (the same everywhere in decaylab):

* regression training loss ``½·mean((y − f)²) + penalty``; reported test metric ``mean((y − f)²)``;
  classification: mean softmax cross-entropy, accuracy;
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
import math
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd
from keras import ops

from decaylab import backend, models, transforms
from decaylab.data import CLASSIFICATION, Dataset
from decaylab.schedules import SCHEDULES

REGULARIZATIONS = ("none", "l2", "l1", "decoupled_lr", "decoupled")
OPTIMIZERS = tuple(transforms.OPTIMIZERS)
HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "test_loss",
    "test_accuracy",
    "scheduled_learning_rate",
    "weight_norm",
)


def _in_unit_interval(value):
    return 0 <= value < 1


#: name: (default, test, what is allowed). ``momentum`` defaults by optimizer (see below).
HYPERPARAMETERS = {
    "learning_rate": (0.01, lambda v: v > 0, "> 0"),
    "decay_rate": (0.0, lambda v: v >= 0, ">= 0"),
    "decay_steps": (1000.0, lambda v: v > 0, "> 0"),
    "alpha": (0.0, lambda v: 0 <= v <= 1, "in [0, 1]"),
    "power": (1.0, lambda v: v > 0, "> 0"),
    "end_learning_rate": (0.0001, lambda v: v >= 0, ">= 0"),
    "warmup_steps": (0.0, lambda v: v >= 0, ">= 0"),
    "t_mul": (2.0, lambda v: v > 0, "> 0"),
    "m_mul": (1.0, lambda v: v > 0, "> 0"),
    "strength": (0.0, lambda v: v >= 0, ">= 0"),
    "momentum": (0.0, _in_unit_interval, "in [0, 1)"),
    "beta_1": (0.9, _in_unit_interval, "in [0, 1)"),
    "beta_2": (0.999, _in_unit_interval, "in [0, 1)"),
    "rho": (0.9, _in_unit_interval, "in [0, 1)"),
    "epsilon": (1e-7, lambda v: v > 0, "> 0"),
    "initial_accumulator_value": (0.1, lambda v: v >= 0, ">= 0"),
    "seed": (0, lambda v: float(v).is_integer() and v >= 0, "an integer >= 0"),
}
DEFAULT_MOMENTUM = {"momentum": 0.9}


@dataclass(frozen=True)
class ShardConfig:
    """Everything the runs of one shard share."""

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
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("schedule", self.schedule, tuple(SCHEDULES))
        _check_choice("regularization", self.regularization, REGULARIZATIONS)
        _check_choice("dtype", self.dtype, ("float32", "float64"))
        for name in ("epochs", "batch_size", "history_stride"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.schedule == "piecewise":
            if len(self.factors) != len(self.boundaries) + 1 or not self.boundaries:
                raise ValueError(
                    "piecewise needs boundaries (increasing steps) and one more factor than "
                    f"boundaries, got boundaries={list(self.boundaries)}, "
                    f"factors={list(self.factors)}"
                )
            if list(self.boundaries) != sorted(set(self.boundaries)):
                raise ValueError(
                    f"boundaries must be strictly increasing, got {list(self.boundaries)}"
                )


@dataclass
class ShardResult:
    """One row per run (settings and metrics), a tidy history, the learned parameters."""

    runs: pd.DataFrame
    history: pd.DataFrame
    params: list[np.ndarray]
    device: str
    seconds: float


def resolve_runs(config: ShardConfig, runs) -> dict[str, np.ndarray]:
    """Fill defaults and validate per-run hyper-parameters; return ``name -> (K,)`` arrays."""
    records = runs.to_dict("records") if isinstance(runs, pd.DataFrame) else list(runs)
    if not records:
        raise ValueError("a shard needs at least one run")
    resolved = {}
    for name, (default, _, _) in HYPERPARAMETERS.items():
        if name == "momentum":
            default = DEFAULT_MOMENTUM.get(config.optimizer, default)
        resolved[name] = []
        for record in records:
            value = record.get(name, default)
            resolved[name].append(default if value is None else value)
    for index, record in enumerate(records):
        unknown = sorted(set(record) - set(HYPERPARAMETERS))
        if unknown:
            raise ValueError(
                f"run {index}: unknown hyper-parameter {unknown[0]!r}; "
                f"allowed: {sorted(HYPERPARAMETERS)}"
            )
    for name, values in resolved.items():
        _, test, allowed = HYPERPARAMETERS[name]
        for index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"run {index}: {name} must be a number, got {value!r}")
            if not (math.isfinite(value) and test(value)):
                raise ValueError(f"run {index}: {name} must be {allowed}, got {value!r}")
    if config.schedule == "exponential_per_epoch":
        _check_each(resolved, "decay_rate", lambda v: v < 1, "in [0, 1) for exponential_per_epoch")
    if config.schedule == "exponential":
        _check_each(resolved, "decay_rate", lambda v: v > 0, "> 0 for exponential")
    return {name: np.asarray(values) for name, values in resolved.items()}


def train_shard(
    train: Dataset,
    test: Dataset,
    config: ShardConfig,
    runs,
    threads: int | None = None,
    device: str = "auto",
) -> ShardResult:
    """Train every run of ``runs`` (a list of dicts or a DataFrame of hyper-parameters).

    ``threads`` sets the CPU threads of the backend (a Snakemake job passes its ``threads``);
    ``device`` is ``cpu``, ``gpu`` (an error without a GPU) or ``auto`` (a GPU when one is
    visible). The compiled loop is kept for later shards of the same shape and settings.
    """
    if threads is not None:
        backend.set_threads(int(threads))
    hp_values = resolve_runs(config, runs)
    seeds = hp_values["seed"].astype(np.int64)
    n_train = len(train.y)
    if config.batch_size > n_train:
        raise ValueError(
            f"batch_size {config.batch_size} is larger than the training set ({n_train} rows)"
        )
    if train.task != test.task:
        raise ValueError("train and test sets pose different tasks")
    placed_on = backend.resolve_device(device)
    dtype = config.dtype
    spec = config.model
    x_train = models.features(spec, train.x).astype(dtype)
    x_test = models.features(spec, test.x).astype(dtype)
    y_train, y_test = _targets(train, dtype), _targets(test, dtype)
    if train.task == CLASSIFICATION and y_test.shape[1] != y_train.shape[1]:
        y_test = _one_hot(test.y, y_train.shape[1], dtype)
    n_out = y_train.shape[1]
    params0 = [p.astype(dtype) for p in models.init_params(spec, x_train.shape[1], n_out, seeds)]
    order, mask = batch_order(n_train, config.batch_size, config.epochs, seeds, config.shuffle)

    started = time.perf_counter()
    with backend.device_scope(placed_on):
        hp = {name: ops.convert_to_tensor(v.astype(dtype)) for name, v in hp_values.items()}
        step = _compiled_loop(config, train.task, n_train, x_train.shape[1], n_out, placed_on)
        outputs = step(
            [ops.convert_to_tensor(p) for p in params0],
            hp,
            *(ops.convert_to_tensor(a) for a in (x_train, y_train, x_test, y_test)),
            ops.convert_to_tensor(order),
            ops.convert_to_tensor(mask.astype(dtype)),
        )
        outputs = keras.tree.map_structure(ops.convert_to_numpy, outputs)
    seconds = time.perf_counter() - started
    params, history, diverged_epoch = outputs
    return ShardResult(
        runs=_runs_table(config, train.task, hp_values, params, history[:, -1], diverged_epoch),
        history=_history_table(history),
        params=params,
        device=backend.device_description(placed_on),
        seconds=seconds,
    )


def batch_order(n: int, batch_size: int, epochs: int, seeds, shuffle: bool):
    """Row indices of every mini-batch and the mask of real (non-padding) rows.

    Returns ``order`` of shape ``(K, epochs, S, B)`` when shuffled (a fresh permutation per
    epoch from ``RandomState(seed)`` of each run) or ``(1, 1, S, B)`` when not, with
    ``S = ⌈n / B⌉``, and ``mask`` ``(S, B)``: 1 for a real row, 0 for the padding of the last,
    partial mini-batch (as ``model.fit`` trains a partial last batch).
    """
    steps = -(-n // batch_size)
    padded = steps * batch_size
    mask = (np.arange(padded) < n).reshape(steps, batch_size)

    def pad(rows):
        return np.concatenate([rows, np.zeros(padded - n, dtype=rows.dtype)]).reshape(
            steps, batch_size
        )

    if not shuffle:
        return pad(np.arange(n)).astype(np.int32)[None, None], mask
    order = np.empty((len(seeds), epochs, steps, batch_size), dtype=np.int32)
    for k, seed in enumerate(seeds):
        rng = np.random.RandomState(int(seed))
        for epoch in range(epochs):
            order[k, epoch] = pad(rng.permutation(n))
    return order, mask


def make_optimizer(config: ShardConfig, mask: list[bool]) -> transforms.Transform:
    """The optimizer transform, followed by decoupled weight decay where asked for."""
    parts = [transforms.OPTIMIZERS[config.optimizer](config.nesterov)]
    if config.regularization == "decoupled_lr":
        parts.append(transforms.add_decayed_weights("lr", mask))
    elif config.regularization == "decoupled":
        parts.append(transforms.add_decayed_weights("multiplier", mask))
    return transforms.chain(*parts)


def penalty(kind: str, params, strength):
    """The loss term of a regularization kind, per run: ``λ/2·Σw²`` (l2), ``λ·Σ|w|`` (l1), 0."""
    if kind == "l2":
        return 0.5 * strength * models.squared_norm(params)
    if kind == "l1":
        return strength * models.abs_norm(params)
    return ops.zeros_like(strength)


@functools.lru_cache(maxsize=16)
def _compiled_loop(
    config: ShardConfig, task: str, n_train: int, n_in: int, n_out: int, device: str
):
    """The compiled training loop of a shard; ``device`` only keys the cache (placement)."""
    return backend.compile(_build_loop(config, task, n_train, n_in, n_out))


def _build_loop(config: ShardConfig, task: str, n_train: int, n_in: int, n_out: int):
    spec = config.model
    schedule = SCHEDULES[config.schedule]
    options = {
        "staircase": config.staircase,
        "cycle": config.cycle,
        "boundaries": config.boundaries,
        "factors": config.factors,
    }
    steps = -(-n_train // config.batch_size)
    batch = config.batch_size
    epochs, stride = config.epochs, config.history_stride
    n_records = 1 + -(-epochs // stride)
    classification = task == CLASSIFICATION

    def example_losses(outputs, targets):
        if classification:
            return -ops.sum(targets * ops.log_softmax(outputs, axis=-1), axis=-1)
        return 0.5 * ops.mean(ops.square(targets - outputs), axis=-1)

    def objective(params, x, y, row_mask, strength):
        per_example = example_losses(models.apply(spec, params, x), y)
        data = ops.sum(per_example * row_mask, axis=1) / ops.sum(row_mask)
        per_run = data + penalty(config.regularization, params, strength)
        return ops.sum(per_run), per_run

    gradient = backend.value_and_grad(objective)

    def evaluate(params, hp, x_train, y_train, x_test, y_test):
        k = ops.shape(hp["learning_rate"])[0]

        def outputs_on(x):
            return models.apply(spec, params, ops.broadcast_to(x[None], (k, *ops.shape(x))))

        train_out, test_out = outputs_on(x_train), outputs_on(x_test)
        train_loss = ops.mean(example_losses(train_out, y_train[None]), axis=1) + penalty(
            config.regularization, params, hp["strength"]
        )
        if classification:
            test_loss = ops.mean(example_losses(test_out, y_test[None]), axis=1)
            hits = ops.argmax(test_out, axis=-1) == ops.argmax(y_test, axis=-1)[None]
            test_accuracy = ops.mean(ops.cast(hits, test_out.dtype), axis=1)
        else:
            test_loss = ops.mean(ops.square(y_test[None] - test_out), axis=(1, 2))
            test_accuracy = ops.full_like(test_loss, float("nan"))
        weight_norm = ops.sqrt(models.squared_norm(params))
        return train_loss, test_loss, test_accuracy, weight_norm

    def loop(params, hp, x_train, y_train, x_test, y_test, order, mask):
        k = ops.shape(hp["learning_rate"])[0]
        kernel_mask = models.kernel_mask(params)
        optimizer = make_optimizer(config, kernel_mask)
        state = optimizer.init(params, hp)
        active = ops.ones((k,), dtype="bool")
        diverged_epoch = ops.full((k,), -1, dtype="int32")

        def record(history, index, epoch, params, lr):
            train_loss, test_loss, test_accuracy, weight_norm = evaluate(
                params, hp, x_train, y_train, x_test, y_test
            )
            epoch_column = ops.zeros_like(lr) + ops.cast(epoch, lr.dtype)
            row = ops.stack(
                [epoch_column, train_loss, test_loss, test_accuracy, lr, weight_norm], axis=1
            )
            return ops.slice_update(history, (0, index, 0), row[:, None, :])

        def train_step(s, carry, epoch):
            params, state, active, diverged_epoch = carry
            global_step = epoch * steps + s
            rows = order[:, epoch, s] if config.shuffle else order[0, 0, s][None]
            xb, yb = (
                ops.broadcast_to(ops.take(a, rows, axis=0), (k, batch, ops.shape(a)[1]))
                for a in (x_train, y_train)
            )
            lr = schedule(global_step, steps, hp, options)
            (_, per_run), grads = gradient(params, xb, yb, mask[s], hp["strength"])
            ctx = {
                "hp": hp,
                "lr": lr,
                "multiplier": lr / hp["learning_rate"],
                "count": global_step + 1,
            }
            updates, new_state = optimizer.update(grads, state, params, ctx)
            new_params = transforms.apply_updates(params, updates)
            finite = ops.isfinite(per_run)
            for p in new_params:
                finite = ops.logical_and(
                    finite, ops.all(ops.reshape(ops.isfinite(p), (k, -1)), axis=1)
                )
            still_active = ops.logical_and(active, finite)
            newly_diverged = ops.logical_and(active, ops.logical_not(finite))
            diverged_epoch = ops.where(newly_diverged, ops.cast(epoch, "int32"), diverged_epoch)

            def keep(new, old):
                return ops.where(transforms.per_run(still_active, old), new, old)

            params = [keep(n, o) for n, o in zip(new_params, params, strict=True)]
            state = keras.tree.map_structure(keep, new_state, state)
            return params, state, still_active, diverged_epoch

        def epoch_body(epoch, carry):
            """Record the state after ``epoch`` epochs (at the stride), then train one more."""
            params, state, active, diverged_epoch, history = carry
            lr = schedule(ops.maximum(epoch * steps - 1, 0), steps, hp, options)
            history = ops.cond(
                ops.logical_or(epoch % stride == 0, epoch == epochs),
                lambda: record(history, (epoch + stride - 1) // stride, epoch, params, lr),
                lambda: history,
            )
            steps_this_epoch = steps * ops.cast(epoch < epochs, "int32")
            params, state, active, diverged_epoch = ops.fori_loop(
                0,
                steps_this_epoch,
                lambda s, c: train_step(s, c, epoch),
                (params, state, active, diverged_epoch),
            )
            return params, state, active, diverged_epoch, history

        history = ops.full((k, n_records, len(HISTORY_COLUMNS)), float("nan"), dtype=x_train.dtype)
        params, state, active, diverged_epoch, history = ops.fori_loop(
            0, epochs + 1, epoch_body, (params, state, active, diverged_epoch, history)
        )
        return params, history, diverged_epoch

    return loop


def _targets(dataset: Dataset, dtype: str) -> np.ndarray:
    if dataset.task == CLASSIFICATION:
        return _one_hot(dataset.y, int(dataset.y.max()) + 1, dtype)
    return dataset.y.reshape(len(dataset.y), -1).astype(dtype)


def _one_hot(labels, n_classes, dtype):
    return np.eye(n_classes, dtype=dtype)[labels]


def _runs_table(config, task, hp_values, params, final, diverged_epoch):
    """One row per run: its hyper-parameters and the metrics of the last history record."""
    metrics = dict(zip(HISTORY_COLUMNS, final.T, strict=True))
    train_loss, test_loss = metrics["train_loss"], metrics["test_loss"]
    test_accuracy, weight_norm = metrics["test_accuracy"], metrics["weight_norm"]
    final_lr = metrics["scheduled_learning_rate"]
    table = pd.DataFrame({name: values for name, values in hp_values.items()})
    table["seed"] = table["seed"].astype(int)
    table["train_loss"] = train_loss
    table["test_loss"] = test_loss
    if task == CLASSIFICATION:
        table["test_accuracy"] = test_accuracy
    else:
        table["test_mse"] = test_loss
    table["weight_norm"] = weight_norm
    table["final_learning_rate"] = final_lr
    table["diverged"] = diverged_epoch >= 0
    table["diverged_epoch"] = pd.array(
        [int(e) if e >= 0 else None for e in diverged_epoch], dtype="Int64"
    )
    if config.model.kind == "linear" and params[0].shape[1:] == (1, 1):
        table["kernel"] = params[0][:, 0, 0]
        table["bias"] = params[1][:, 0]
    return table


def _history_table(history: np.ndarray) -> pd.DataFrame:
    k, n_records, _ = history.shape
    frame = pd.DataFrame(history.reshape(k * n_records, -1), columns=list(HISTORY_COLUMNS))
    frame.insert(0, "run", np.repeat(np.arange(k), n_records))
    frame = frame.dropna(subset=["epoch"]).reset_index(drop=True)
    frame["epoch"] = frame["epoch"].astype(int)
    return frame


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _check_each(resolved, name, test, allowed):
    for index, value in enumerate(resolved[name]):
        if not test(value):
            raise ValueError(f"run {index}: {name} must be {allowed}, got {value!r}")

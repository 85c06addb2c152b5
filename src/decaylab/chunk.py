"""The compiled chunk: epochs of training of K runs side by side, in one backend call.

Every parameter, optimizer state and hyper-parameter has a leading axis K (one slice per run);
the schedule and regularization kinds are per-run indices (every kind present in the shard is
computed and each run selects its own, which costs next to nothing). A chunk trains up to
``capacity`` epochs, records the metrics at every ``history_stride``-th epoch, and sums each
run's mini-batch data losses (the driver's progress line reads their mean).

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
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from decaylab import backend  # first: it starts Keras, with the native libraries' logs filtered

# isort: split
from keras import ops, tree

from decaylab import grid, models, transforms
from decaylab.dataset import CLASSIFICATION
from decaylab.schedules import SCHEDULES
from decaylab.shard import ShardConfig
from decaylab.tables import HISTORY_COLUMNS

ORDER_BUDGET_BYTES = 32 * 2**20
"""Most memory one chunk's mini-batch order (and its history records) may take."""

MAX_CHUNK_EPOCHS = 1024


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


def bucket(k: int) -> int:
    """The number of runs a shard of ``k`` runs is compiled for: the smallest ``m·2^e ≥ k`` with
    ``m ≤ 16`` (every k up to 16, then 18, 20, … 32, 36, 40 …), so that a shard given another
    seed or grid point reuses the compiled chunk; the padding costs at most 1/8 more work."""
    step = 2 ** max(0, int(k - 1).bit_length() - 4)
    return -(-k // step) * step


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
    with row 0, which :func:`row_mask` masks out.
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


def row_mask(n: int, batch_size: int) -> np.ndarray:
    """``(S, B)``: 1 for a real row, 0 for the padding of the last, partial mini-batch."""
    steps = grid.updates_per_epoch(n, batch_size)
    return (np.arange(steps * batch_size) < n).reshape(steps, batch_size)


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


def add_l2_gradient(grads, params, strength):
    """``g + λ·w`` for the decayed parameters (kernels): the gradient of the ``l2`` penalty
    ``λ/2·Σw²`` in closed form. Differentiating the penalty instead costs the step several more
    passes over every weight (11 % of the paper shard's time, ``benchmarks/paper_shard.py``)."""

    def add(g, w, decays):
        return g + transforms.per_run(strength, w) * w if decays else g

    return tree.map_structure(add, grads, params, models.decay_mask(params))


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
    """One optimizer update of every active run on its mini-batch ``rows`` ``(K or 1, B)``.

    Returns the new state, which runs diverged in it (a non-finite loss, or a parameter tensor
    whose sum is not finite: any NaN or infinity in it, or values near the float range's end),
    and each run's mini-batch data loss (without penalties)."""
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
    if "l2" in coefficients:
        grads = add_l2_gradient(grads, state.params, coefficients["l2"])
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
        finite = ops.logical_and(finite, ops.isfinite(ops.sum(ops.reshape(p, (k, -1)), axis=1)))
    still_active = ops.logical_and(state.active, finite)

    def keep(new, old):
        return ops.where(transforms.per_run(still_active, old), new, old)

    return (
        TrainingState(
            tree.map_structure(keep, new_params, state.params),
            tree.map_structure(keep, new_optimizer, state.optimizer),
            still_active,
            state.diverged_epoch,
            tree.map_structure(keep, statistics, state.statistics),
        ),
        ops.logical_and(state.active, ops.logical_not(finite)),
        per_run,
    )


def build_chunk(plan: Plan):
    """The chunk: epochs ``first … first + n − 1`` of training, recording before each epoch.

    Epoch index e in ``[0, epochs]``: the state after e epochs is recorded when e is a multiple
    of the history stride or e = epochs; then, if e < epochs, one epoch of updates is applied.
    Returns the new state, ``(record_slots, K, len(HISTORY_COLUMNS))`` records in epoch
    order (NaN rows left over: the buffer is as small as the stride allows, since the loop
    carries it through every epoch), and each run's sum of its mini-batch data losses in the
    chunk.
    """
    config = plan.config
    classification = plan.task == CLASSIFICATION
    steps, stride, epochs = plan.steps, config.history_stride, config.epochs

    def objective(params, statistics, x, y, row_mask, coefficients):
        """The mini-batch's summed objective without ``l2`` (whose gradient
        :func:`add_l2_gradient` adds), and each run's data loss (without penalties)."""
        outputs, statistics = models.forward(config.model, params, statistics, x, row_mask)
        per_example = example_losses(outputs, y, classification)
        data_loss = ops.sum(per_example * row_mask, axis=1) / ops.sum(row_mask)
        l1 = penalty(params, {k: v for k, v in coefficients.items() if k == "l1"})
        return ops.sum(data_loss + l1), (data_loss, statistics)

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
            state, records, loss_sum = carry
            epoch = first_epoch + i
            records = ops.cond(
                ops.logical_or(epoch % stride == 0, epoch == epochs),
                lambda: record(records, epoch, state.params, state.statistics),
                lambda: records,
            )

            def step_body(s, carry):
                state, loss_sum = carry
                rows = order[:, i, s] if config.shuffle else order[0, 0, s][None]
                state, newly_diverged, losses = train_step(
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
                return state._replace(diverged_epoch=diverged_epoch), loss_sum + losses

            steps_this_epoch = steps * ops.cast(epoch < epochs, "int32")
            state, loss_sum = ops.fori_loop(0, steps_this_epoch, step_body, (state, loss_sum))
            return state, records, loss_sum

        loss_sum = ops.zeros((k,), hp["learning_rate"].dtype)
        return ops.fori_loop(0, n_epochs, epoch_body, (state, records, loss_sum))

    return chunk


@functools.lru_cache(maxsize=16)
def compiled_chunk(plan: Plan):
    """The compiled chunk of a plan, kept for later shards of the same plan."""
    return backend.compile(build_chunk(plan))

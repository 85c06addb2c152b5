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

from decaylab import backend  # first: it starts Keras, with the native libraries' logs filtered

# isort: split
from keras import ops, tree

from decaylab import models, transforms
from decaylab.dataset import CLASSIFICATION
from decaylab.schedules import SCHEDULES
from decaylab.shard import HISTORY_COLUMNS, Layout, Runs, ShardConfig


class TrainingState(NamedTuple):
    """What a chunk carries from one epoch to the next."""

    params: Any
    optimizer: Any
    active: Any
    diverged_epoch: Any
    statistics: Any
    rotation: Any  # (K, 2): Σθ² over the steps and trained kernels since the last record, terms


class Data(NamedTuple):
    """The prepared parts; without a validation part, its fields repeat the test part's and
    the plan does not read them."""

    x_train: Any
    y_train: Any
    x_validation: Any
    y_validation: Any
    x_test: Any
    y_test: Any


class StepInputs(NamedTuple):
    """What every step of a chunk reads besides the state: the optimizer transform, the
    gradient (:func:`make_gradient`), the per-run values ``hp`` and kind indices ``kinds``, the
    regularization coefficients (:func:`regularization_coefficients`) and the data."""

    optimizer: Any
    gradient: Any
    hp: Any
    kinds: Any
    coefficients: Any
    data: Data


@dataclass(frozen=True)
class Plan:
    """What the compiled chunk depends on besides its arguments' shapes and dtypes: the
    shard's settings except its number of epochs (an argument of the chunk, so that shards of
    other lengths share one compiled chunk), the kinds present, the layout and the device."""

    model: models.ModelSpec
    optimizer: str
    nesterov: bool
    schedule_options: tuple[tuple[str, Any], ...]
    history_stride: int
    task: str
    has_validation: bool
    schedules: tuple[str, ...]
    regularizations: tuple[str, ...]
    layout: Layout
    device: str

    @classmethod
    def of(cls, config: ShardConfig, runs: Runs, layout: Layout, task: str, has_validation: bool,
           device: str) -> Plan:  # fmt: skip
        """The plan of a shard of ``runs`` with ``config``, laid out as ``layout``."""
        return cls(
            model=config.model,
            optimizer=config.optimizer,
            nesterov=config.nesterov,
            schedule_options=tuple(config.schedule_options.items()),
            history_stride=config.history_stride,
            task=task,
            has_validation=has_validation,
            schedules=runs.kinds("schedule"),
            regularizations=runs.kinds("regularization"),
            layout=layout,
            device=device,
        )

    @property
    def record_slots(self) -> int:
        """Most history records one chunk can hold: every stride, and the final epoch."""
        return self.layout.capacity // self.history_stride + 2


def make_optimizer(plan: Plan, mask) -> transforms.Transform:
    """The optimizer transform, then decoupled weight decay where a run of the shard asks for it."""
    parts = [transforms.OPTIMIZERS[plan.optimizer](plan.nesterov)]
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
    options, steps = dict(plan.schedule_options), plan.layout.updates_per_epoch
    rate = None
    for i, kind in enumerate(plan.schedules):
        value = SCHEDULES[kind](step, steps, hp, options)
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


def metrics(plan: Plan, params, statistics, coefficients, data: Data) -> dict:
    """Per run ``(K,)``, by history column: the training objective, validation and test loss
    (MSE or cross-entropy) and accuracy (NaN for regression, and for validation when there is
    no validation part), ‖w‖.

    Each run is evaluated on its own (``ops.map``): outputs batched over the runs of one shared
    input, their means and the norms of batched kernels are compiled to sums whose order depends
    on K, which made a run's metrics depend on how many runs shared its shard (by up to 4e-7;
    2e-6 in ‖w‖ of a CNN under JAX). The penalty is ``λ/2·‖w‖²`` (``l2``) plus ``λ·Σ|w|``
    (``l1``) of the same norms."""
    spec, classification = plan.model, plan.task == CLASSIFICATION
    parts = {"train": (data.x_train, data.y_train), "test": (data.x_test, data.y_test)}
    if plan.has_validation:
        parts["validation"] = (data.x_validation, data.y_validation)

    def one_run(layers):
        own, stats = models.split_statistics(tree.map_structure(lambda a: a[None], layers))
        found = {}
        for name, (x, y) in parts.items():
            out = models.apply(spec, own, x[None], stats)
            if name == "train" or classification:
                found[f"{name}_loss"] = backend.mean(example_losses(out, y[None], classification))
            else:
                found[f"{name}_loss"] = backend.mean(ops.square(y[None] - out))
            if classification and name != "train":
                hits = ops.argmax(out, axis=-1) == ops.argmax(y, axis=-1)[None]
                found[f"{name}_accuracy"] = backend.mean(ops.cast(hits, out.dtype))
        found["squared_norm"] = models.squared_norm(own)[0]
        found["abs_norm"] = models.abs_norm(own)[0]
        return found

    found = ops.map(one_run, models.merge_statistics(params, statistics))
    nan = ops.full_like(found["test_loss"], float("nan"))
    penalty = 0.0
    if "l2" in coefficients:
        penalty = penalty + 0.5 * coefficients["l2"] * found["squared_norm"]
    if "l1" in coefficients:
        penalty = penalty + coefficients["l1"] * found["abs_norm"]
    return {
        "train_loss": found["train_loss"] + penalty,
        "validation_loss": found.get("validation_loss", nan),
        "validation_accuracy": found.get("validation_accuracy", nan),
        "test_loss": found["test_loss"],
        "test_accuracy": found.get("test_accuracy", nan),
        "weight_norm": ops.sqrt(found["squared_norm"]),
    }


def history_row(plan: Plan, inputs: StepInputs, epoch, state: TrainingState):
    """``(K, len(HISTORY_COLUMNS))``: the record of ``state``, the state after ``epoch``
    epochs, its columns placed by name: the epoch, :func:`metrics`, the learning rate of
    the epoch's last update ``η_{e·M − 1}`` (η_0 at epoch 0), and on a scale-invariant network
    the angular update ``sqrt(mean θ²)`` over the steps and trained kernels since the last record
    (:func:`decaylab.transforms.rotation_terms`; NaN on other networks and before any step)."""
    last_step = ops.maximum(epoch * plan.layout.updates_per_epoch - 1, 0)
    lr = learning_rate(plan, last_step, inputs.hp, inputs.kinds["schedule"])
    total, count = state.rotation[:, 0], state.rotation[:, 1]
    columns = {
        "epoch": ops.zeros_like(lr) + ops.cast(epoch, lr.dtype),
        "scheduled_learning_rate": lr,
        **metrics(plan, state.params, state.statistics, inputs.coefficients, inputs.data),
        "angular_update": ops.where(
            count > 0, ops.sqrt(total / ops.maximum(count, 1.0)), float("nan")
        ),
    }
    return ops.stack([columns[name] for name in HISTORY_COLUMNS], axis=1)


def train_step(plan: Plan, inputs: StepInputs, state: TrainingState, rows, row_mask, step):
    """One optimizer update of every active run on its mini-batch ``rows`` ``(K or 1, B)``.

    Returns the new state, which runs diverged in it (a non-finite loss, or a parameter tensor
    whose sum is not finite: any NaN or infinity in it, or values near the float range's end),
    and each run's mini-batch data loss (without penalties)."""
    hp, coefficients, data = inputs.hp, inputs.coefficients, inputs.data
    k = ops.shape(hp["learning_rate"])[0]
    batch = plan.layout.batch_size
    xb, yb = (
        ops.broadcast_to(ops.take(a, rows, axis=0), (k, batch, *ops.shape(a)[1:]))
        for a in (data.x_train, data.y_train)
    )
    lr = learning_rate(plan, step, hp, inputs.kinds["schedule"])
    (_, (per_run, statistics)), grads = inputs.gradient(
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
    updates, new_optimizer = inputs.optimizer.update(grads, state.optimizer, state.params, ctx)
    new_params = transforms.apply_updates(state.params, updates)
    finite = ops.isfinite(per_run)
    for p in tree.flatten(new_params):
        finite = ops.logical_and(finite, ops.isfinite(ops.sum(ops.reshape(p, (k, -1)), axis=1)))
    still_active = ops.logical_and(state.active, finite)

    def keep(new, old):
        return ops.where(transforms.per_run(still_active, old), new, old)

    rotation = state.rotation
    if plan.model.scale_invariant:
        turned = transforms.rotation_terms(state.params, new_params, models.decay_mask(new_params))
        rotation = keep(rotation + turned, rotation)
    return (
        TrainingState(
            tree.map_structure(keep, new_params, state.params),
            tree.map_structure(keep, new_optimizer, state.optimizer),
            still_active,
            state.diverged_epoch,
            tree.map_structure(keep, statistics, state.statistics),
            rotation,
        ),
        ops.logical_and(state.active, ops.logical_not(finite)),
        per_run,
    )


def make_gradient(plan: Plan):
    """``(params, statistics, x, y, row_mask, coefficients) ↦ ((objective, (data_loss,
    statistics)), grads)``: the mini-batch's summed objective without ``l2`` (whose gradient
    :func:`add_l2_gradient` adds), each run's data loss (without penalties), the moved
    normalization statistics, and the objective's gradient with respect to ``params``."""
    classification = plan.task == CLASSIFICATION

    def objective(params, statistics, x, y, row_mask, coefficients):
        outputs, statistics = models.forward(plan.model, params, statistics, x, row_mask)
        per_example = example_losses(outputs, y, classification)
        data_loss = ops.sum(per_example * row_mask, axis=1) / ops.sum(row_mask)
        l1 = penalty(params, {k: v for k, v in coefficients.items() if k == "l1"})
        return ops.sum(data_loss + l1), (data_loss, statistics)

    return backend.value_and_grad(objective)


def build_chunk(plan: Plan):
    """The chunk: epochs ``first … first + n − 1`` of a shard of ``epochs`` epochs, recording
    before each epoch.

    Epoch index e in ``[0, epochs]``: the state after e epochs is recorded when e is a multiple
    of the history stride or e = epochs; then, if e < epochs, one epoch of updates is applied.
    Returns the new state, ``(record_slots, K, len(HISTORY_COLUMNS))`` records in epoch
    order (NaN rows left over: the buffer is as small as the stride allows, since the loop
    carries it through every epoch), and each run's sum of its mini-batch data losses in the
    chunk.
    """
    stride, steps = plan.history_stride, plan.layout.updates_per_epoch
    gradient = make_gradient(plan)

    def chunk(state, hp, kinds, data, order, mask, first_epoch, n_epochs, epochs):
        optimizer = make_optimizer(plan, models.decay_mask(state.params))
        coefficients = regularization_coefficients(plan, hp, kinds["regularization"])
        inputs = StepInputs(optimizer, gradient, hp, kinds, coefficients, data)
        k, dtype = ops.shape(hp["learning_rate"])[0], hp["learning_rate"].dtype
        records = ops.full((plan.record_slots, k, len(HISTORY_COLUMNS)), float("nan"), dtype)
        first_slot = (first_epoch + stride - 1) // stride  # records before this chunk, by stride

        def record(records, epoch, state):
            final_off_stride = ops.logical_and(epoch == epochs, epoch % stride != 0)
            i = epoch // stride - first_slot + ops.cast(final_off_stride, "int32")
            zero = ops.zeros_like(i)  # one integer type for every index (JAX insists)
            row = history_row(plan, inputs, epoch, state)
            return ops.slice_update(records, (i, zero, zero), row[None])

        def epoch_body(i, carry):
            state, records, loss_sum = carry
            epoch = first_epoch + i
            recorded = ops.logical_or(epoch % stride == 0, epoch == epochs)
            records = ops.cond(recorded, lambda: record(records, epoch, state), lambda: records)
            state = state._replace(  # a record starts the next angular mean afresh
                rotation=ops.where(recorded, ops.zeros_like(state.rotation), state.rotation)
            )

            def step_body(s, carry):
                state, loss_sum = carry
                rows = order[:, i, s] if plan.layout.shuffle else order[0, 0, s][None]
                state, diverged, losses = train_step(
                    plan, inputs, state, rows, mask[s], epoch * steps + s
                )
                diverged_epoch = ops.where(diverged, ops.cast(epoch, "int32"), state.diverged_epoch)
                return state._replace(diverged_epoch=diverged_epoch), loss_sum + losses

            steps_this_epoch = steps * ops.cast(epoch < epochs, "int32")
            state, loss_sum = ops.fori_loop(0, steps_this_epoch, step_body, (state, loss_sum))
            return state, records, loss_sum

        loss_sum = ops.zeros((k,), dtype)
        return ops.fori_loop(0, n_epochs, epoch_body, (state, records, loss_sum))

    return chunk


@functools.lru_cache(maxsize=16)
def compiled_chunk(plan: Plan):
    """The compiled chunk of a plan, kept for later shards of the same plan (of any number of
    epochs)."""
    return backend.compile(build_chunk(plan))

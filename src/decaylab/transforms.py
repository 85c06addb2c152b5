"""Optimizers and weight decay as small composable gradient transforms (in the style of optax).

A transform is a pair of pure functions: ``init(params, hp) -> state`` and
``update(grads, state, params, ctx) -> (updates, state)``. ``params``, ``grads`` and ``updates``
are trees (a list of layers ``{"kernel": …, "bias": …}``) whose tensors have a leading axis K
indexing the runs of a shard; states are named tuples of such trees. ``ctx`` carries the per-run
hyper-parameters ``hp`` (tensors of shape ``(K,)``), the scheduled rate ``lr`` = η_t, the per-run
rate of decoupled decay ``weight_decay`` and the 1-based update count ``count``. The optimizer
transforms return the full update Δw (the rate included, since Keras puts η_t inside the
momentum accumulators); ``apply_updates`` then sets ``w ← w + Δw``. Each update rule follows
``keras.optimizers`` step for step, and the tests hold them to it and to an exact NumPy
reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from keras import ops, tree


@dataclass(frozen=True)
class Transform:
    """An ``init`` / ``update`` pair."""

    init: Callable
    update: Callable


class EmptyState(NamedTuple):
    """The state of a stateless transform."""


class MomentumState(NamedTuple):
    velocity: Any


class AdamState(NamedTuple):
    first_moment: Any
    second_moment: Any


class RMSpropState(NamedTuple):
    mean_square: Any
    velocity: Any


class AdagradState(NamedTuple):
    accumulator: Any


def per_run(value, like):
    """Reshape a per-run ``(K,)`` tensor so that it broadcasts against ``like`` ``(K, ...)``."""
    return ops.reshape(value, (-1,) + (1,) * (len(like.shape) - 1))


def _zeros(params):
    return tree.map_structure(ops.zeros_like, params)


def _stateless(params, hp):
    return EmptyState()


def sgd() -> Transform:
    """Plain SGD: ``Δw = −η_t·g``."""

    def update(grads, state, params, ctx):
        return tree.map_structure(lambda g: -per_run(ctx["lr"], g) * g, grads), state

    return Transform(_stateless, update)


def momentum(nesterov: bool = False) -> Transform:
    """SGD with momentum μ = ``momentum`` (Keras ``SGD(momentum, nesterov)``).

    ``m ← μ·m − η_t·g``; ``Δw = m``, or with Nesterov ``Δw = μ·m − η_t·g``.
    """

    def update(grads, state, params, ctx):
        def velocity(g, m):
            return per_run(ctx["hp"]["momentum"], g) * m - per_run(ctx["lr"], g) * g

        new_m = tree.map_structure(velocity, grads, state.velocity)
        if not nesterov:
            return new_m, MomentumState(new_m)
        return tree.map_structure(velocity, grads, new_m), MomentumState(new_m)

    return Transform(lambda params, hp: MomentumState(_zeros(params)), update)


def adam() -> Transform:
    """Adam (Keras ``Adam``), β1 = ``beta_1``, β2 = ``beta_2``, ε = ``epsilon``, n = count.

    ``m ← m + (1 − β1)(g − m)``; ``v ← v + (1 − β2)(g² − v)``;
    ``Δw = −η_t·sqrt(1 − β2ⁿ)/(1 − β1ⁿ) · m / (sqrt(v) + ε)``.
    """

    def update(grads, state, params, ctx):
        hp = ctx["hp"]

        def first(g, m):
            return m + (g - m) * (1 - per_run(hp["beta_1"], g))

        def second(g, v):
            return v + (ops.square(g) - v) * (1 - per_run(hp["beta_2"], g))

        def step(g, m, v):
            b1, b2 = per_run(hp["beta_1"], g), per_run(hp["beta_2"], g)
            n = ops.cast(ctx["count"], g.dtype)
            alpha = per_run(ctx["lr"], g) * ops.sqrt(1 - ops.power(b2, n)) / (1 - ops.power(b1, n))
            return -(m * alpha) / (ops.sqrt(v) + per_run(hp["epsilon"], g))

        m = tree.map_structure(first, grads, state.first_moment)
        v = tree.map_structure(second, grads, state.second_moment)
        return tree.map_structure(step, grads, m, v), AdamState(m, v)

    return Transform(lambda params, hp: AdamState(_zeros(params), _zeros(params)), update)


def rmsprop() -> Transform:
    """RMSprop (Keras ``RMSprop``, not centred), ρ = ``rho``, μ = ``momentum``, ε = ``epsilon``.

    ``v ← ρ·v + (1 − ρ)·g²``; ``s = η_t·g / sqrt(v + ε)``; ``m ← μ·m + s``; ``Δw = −m``
    (with μ = 0 this is ``Δw = −s``, Keras's momentum-free branch).
    """

    def update(grads, state, params, ctx):
        hp = ctx["hp"]

        def mean_square(g, v):
            rho = per_run(hp["rho"], g)
            return rho * v + (1 - rho) * ops.square(g)

        def velocity(g, v, m):
            step = per_run(ctx["lr"], g) * g / ops.sqrt(v + per_run(hp["epsilon"], g))
            return per_run(hp["momentum"], g) * m + step

        v = tree.map_structure(mean_square, grads, state.mean_square)
        m = tree.map_structure(velocity, grads, v, state.velocity)
        return tree.map_structure(ops.negative, m), RMSpropState(v, m)

    return Transform(lambda params, hp: RMSpropState(_zeros(params), _zeros(params)), update)


def adagrad() -> Transform:
    """Adagrad (Keras ``Adagrad``), a₀ = ``initial_accumulator_value``, ε = ``epsilon``.

    ``a ← a + g²``; ``Δw = −η_t·g / sqrt(a + ε)``.
    """

    def init(params, hp):
        initial = hp["initial_accumulator_value"]
        return AdagradState(
            tree.map_structure(lambda p: ops.ones_like(p) * per_run(initial, p), params)
        )

    def update(grads, state, params, ctx):
        a = tree.map_structure(lambda g, a: a + ops.square(g), grads, state.accumulator)

        def step(g, a):
            return -per_run(ctx["lr"], g) * g / ops.sqrt(a + per_run(ctx["hp"]["epsilon"], g))

        return tree.map_structure(step, grads, a), AdagradState(a)

    return Transform(init, update)


def add_decayed_weights(mask) -> Transform:
    """Decoupled weight decay of the parameters where ``mask`` (same tree) is True.

    ``Δw ← Δw − ρ·w`` with the per-run rate ρ = ``ctx["weight_decay"]``: ``η_t·λ`` for Keras's
    ``weight_decay`` (``decoupled_lr``), ``(η_t/η0)·λ`` for Loshchilov & Hutter's AdamW/SGDW
    (``decoupled``), 0 for runs without decoupled decay.
    """

    def update(updates, state, params, ctx):
        def decay(u, p, decays):
            return u - per_run(ctx["weight_decay"], p) * p if decays else u

        return tree.map_structure(decay, updates, params, mask), state

    return Transform(_stateless, update)


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` one after the other; the state is the tuple of their states."""

    def init(params, hp):
        return tuple(t.init(params, hp) for t in transforms)

    def update(grads, state, params, ctx):
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            grads, s = t.update(grads, s, params, ctx)
            new_state.append(s)
        return grads, tuple(new_state)

    return Transform(init, update)


def apply_updates(params, updates):
    """``w ← w + Δw`` for every parameter tensor."""
    return tree.map_structure(lambda p, u: p + u, params, updates)


OPTIMIZERS = {
    "sgd": lambda nesterov: sgd(),
    "momentum": momentum,
    "adam": lambda nesterov: adam(),
    "rmsprop": lambda nesterov: rmsprop(),
    "adagrad": lambda nesterov: adagrad(),
}
"""The optimizer transform of each name of ``registry.OPTIMIZERS``."""


def rotation_terms(old_params, new_params, mask):
    """``(K, 2)``: per run, the sum over the kernels ``mask`` marks of the squared angle θ² between
    a kernel before and after an update, and the number of kernels. ``θ = 2·arcsin(c/2)`` from
    the chord ``c = ‖w/‖w‖ − w'/‖w'‖‖`` (exact, and accurate for small angles where ``arccos``
    of the cosine is not)."""
    total, count = 0.0, 0
    decayed = tree.flatten(mask)
    for old, new, decays in zip(tree.flatten(old_params), tree.flatten(new_params), decayed,
                                strict=True):  # fmt: skip
        if not decays:
            continue
        k = ops.shape(old)[0]
        old, new = ops.reshape(old, (k, -1)), ops.reshape(new, (k, -1))
        unit_old = old / ops.sqrt(ops.sum(ops.square(old), axis=1, keepdims=True))
        unit_new = new / ops.sqrt(ops.sum(ops.square(new), axis=1, keepdims=True))
        chord = ops.sqrt(ops.sum(ops.square(unit_old - unit_new), axis=1))
        total = total + ops.square(2.0 * ops.arcsin(ops.minimum(chord / 2.0, 1.0)))
        count += 1
    return ops.stack([total, ops.zeros_like(total) + count], axis=1)

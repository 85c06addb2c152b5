"""Optimizers and weight decay as small composable gradient transforms (in the style of optax).

A transform is a pair of pure functions: ``init(params, hp) -> state`` and
``update(grads, state, params, ctx) -> (updates, state)``. ``params``, ``grads`` and ``updates``
are lists of tensors whose leading axis K indexes the runs of a shard; ``ctx`` carries the
per-run hyper-parameters ``hp`` (tensors of shape ``(K,)``), the scheduled rate ``lr`` = η_t, the
schedule multiplier ``lr / lr0`` and the 1-based update count ``count``. The optimizer transforms
return the full update Δw (the rate included, since Keras puts η_t inside the momentum
accumulators); ``apply_updates`` then sets ``w ← w + Δw``. Each update rule follows
``keras.optimizers`` step for step, and the tests hold them to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keras import ops


@dataclass(frozen=True)
class Transform:
    """An ``init`` / ``update`` pair."""

    init: Callable
    update: Callable


def per_run(value, like):
    """Reshape a per-run ``(K,)`` tensor so that it broadcasts against ``like`` ``(K, ...)``."""
    return ops.reshape(value, (-1,) + (1,) * (len(like.shape) - 1))


def _zeros(params, hp=None):
    return [ops.zeros_like(p) for p in params]


def sgd() -> Transform:
    """Plain SGD: ``Δw = −η_t·g``."""

    def update(grads, state, params, ctx):
        return [-per_run(ctx["lr"], g) * g for g in grads], state

    return Transform(lambda params, hp: (), update)


def momentum(nesterov: bool = False) -> Transform:
    """SGD with momentum μ = ``momentum`` (Keras ``SGD(momentum, nesterov)``).

    ``m ← μ·m − η_t·g``; ``Δw = m``, or with Nesterov ``Δw = μ·m − η_t·g``.
    """

    def update(grads, state, params, ctx):
        new_m, updates = [], []
        for g, m in zip(grads, state, strict=True):
            mu, lr = per_run(ctx["hp"]["momentum"], g), per_run(ctx["lr"], g)
            m = mu * m - lr * g
            new_m.append(m)
            updates.append(mu * m - lr * g if nesterov else m)
        return updates, new_m

    return Transform(_zeros, update)


def adam() -> Transform:
    """Adam (Keras ``Adam``), β1 = ``beta_1``, β2 = ``beta_2``, ε = ``epsilon``, n = count.

    ``m ← m + (1 − β1)(g − m)``; ``v ← v + (1 − β2)(g² − v)``;
    ``Δw = −η_t·sqrt(1 − β2ⁿ)/(1 − β1ⁿ) · m / (sqrt(v) + ε)``.
    """

    def update(grads, state, params, ctx):
        ms, vs = state
        new_ms, new_vs, updates = [], [], []
        for g, m, v in zip(grads, ms, vs, strict=True):
            b1, b2 = per_run(ctx["hp"]["beta_1"], g), per_run(ctx["hp"]["beta_2"], g)
            eps = per_run(ctx["hp"]["epsilon"], g)
            n = ops.cast(ctx["count"], g.dtype)
            alpha = per_run(ctx["lr"], g) * ops.sqrt(1 - ops.power(b2, n)) / (1 - ops.power(b1, n))
            m = m + (g - m) * (1 - b1)
            v = v + (ops.square(g) - v) * (1 - b2)
            new_ms.append(m)
            new_vs.append(v)
            updates.append(-(m * alpha) / (ops.sqrt(v) + eps))
        return updates, (new_ms, new_vs)

    return Transform(lambda params, hp: (_zeros(params), _zeros(params)), update)


def rmsprop() -> Transform:
    """RMSprop (Keras ``RMSprop``, not centred), ρ = ``rho``, μ = ``momentum``, ε = ``epsilon``.

    ``v ← ρ·v + (1 − ρ)·g²``; ``s = η_t·g / sqrt(v + ε)``; ``m ← μ·m + s``; ``Δw = −m``
    (with μ = 0 this is ``Δw = −s``, Keras's momentum-free branch).
    """

    def update(grads, state, params, ctx):
        vs, ms = state
        new_vs, new_ms, updates = [], [], []
        for g, v, m in zip(grads, vs, ms, strict=True):
            rho, mu = per_run(ctx["hp"]["rho"], g), per_run(ctx["hp"]["momentum"], g)
            eps = per_run(ctx["hp"]["epsilon"], g)
            v = rho * v + (1 - rho) * ops.square(g)
            m = mu * m + per_run(ctx["lr"], g) * g / ops.sqrt(v + eps)
            new_vs.append(v)
            new_ms.append(m)
            updates.append(-m)
        return updates, (new_vs, new_ms)

    return Transform(lambda params, hp: (_zeros(params), _zeros(params)), update)


def adagrad() -> Transform:
    """Adagrad (Keras ``Adagrad``), a₀ = ``initial_accumulator_value``, ε = ``epsilon``.

    ``a ← a + g²``; ``Δw = −η_t·g / sqrt(a + ε)``.
    """

    def init(params, hp):
        return [ops.ones_like(p) * per_run(hp["initial_accumulator_value"], p) for p in params]

    def update(grads, state, params, ctx):
        new_a, updates = [], []
        for g, a in zip(grads, state, strict=True):
            a = a + ops.square(g)
            new_a.append(a)
            eps = per_run(ctx["hp"]["epsilon"], g)
            updates.append(-per_run(ctx["lr"], g) * g / ops.sqrt(a + eps))
        return updates, new_a

    return Transform(init, update)


def add_decayed_weights(scaled_by: str, mask: list[bool]) -> Transform:
    """Decoupled weight decay on the masked parameters (the kernels), λ = ``strength``.

    ``scaled_by="lr"`` (Keras ``weight_decay``): ``Δw ← Δw − η_t·λ·w``.
    ``scaled_by="multiplier"`` (Loshchilov & Hutter, AdamW/SGDW): ``Δw ← Δw − (η_t/η0)·λ·w``.
    """
    if scaled_by not in ("lr", "multiplier"):
        raise ValueError(f"scaled_by must be 'lr' or 'multiplier', got {scaled_by!r}")

    def update(updates, state, params, ctx):
        rate = ctx["lr"] if scaled_by == "lr" else ctx["multiplier"]
        decayed = []
        for u, p, decays in zip(updates, params, mask, strict=True):
            if decays:
                u = u - per_run(rate * ctx["hp"]["strength"], p) * p
            decayed.append(u)
        return decayed, state

    return Transform(lambda params, hp: (), update)


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
    return [p + u for p, u in zip(params, updates, strict=True)]


OPTIMIZERS = {
    "sgd": lambda nesterov: sgd(),
    "momentum": momentum,
    "adam": lambda nesterov: adam(),
    "rmsprop": lambda nesterov: rmsprop(),
    "adagrad": lambda nesterov: adagrad(),
}

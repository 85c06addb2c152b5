"""Learning-rate schedules: pure functions of the optimizer step, one rate per run.

Every schedule has the signature ``schedule(step, steps_per_epoch, hp, options) -> lr`` where
``step`` counts optimizer updates from 0 (as Keras schedules do), ``hp`` maps hyper-parameter
names to per-run tensors of shape ``(K,)`` (or scalars), and ``options`` holds the settings that
are the same for every run of a shard (``staircase``, ``cycle``, ``boundaries``, ``factors``).
η0 is ``hp["learning_rate"]``. Written with ``keras.ops`` (and ``backend``'s exact ``floor``,
``ceil`` and ``cos``) so that they compile on any backend.

The Keras twins (used as oracles in the tests) are named in each docstring.
"""

from __future__ import annotations

import math

from decaylab import backend  # first: it starts Keras, with the native libraries' logs filtered

# isort: split
from keras import ops


def constant(step, steps_per_epoch, hp, options):
    """``η_t = η0``."""
    return hp["learning_rate"] * ops.ones_like(ops.cast(step, hp["learning_rate"].dtype))


def inverse_sqrt(step, steps_per_epoch, hp, options):
    """The article's rate ``η_t = η0 / sqrt(1 + γ²·t)``, γ = ``decay_rate``, t = step.

    The article calls this "exponential decay"; it is an inverse-square-root decay.
    """
    t = ops.cast(step, hp["learning_rate"].dtype)
    return hp["learning_rate"] / ops.sqrt(1.0 + ops.square(hp["decay_rate"]) * t)


def exponential_per_epoch(step, steps_per_epoch, hp, options):
    """The article's code: ``η_t = η0·(1 − d)^epoch``, d = ``decay_rate``, epoch = ⌊t / steps⌋.

    The article meant ``lr *= (1 − decay)`` after every epoch (its code never reached the
    optimizer). Keras twin: ``ExponentialDecay(η0, steps_per_epoch, 1 − d, staircase=True)``.
    """
    epoch = backend.floor(ops.cast(step, hp["learning_rate"].dtype) / steps_per_epoch)
    return hp["learning_rate"] * ops.power(1.0 - hp["decay_rate"], epoch)


def exponential(step, steps_per_epoch, hp, options):
    """``η_t = η0·r^p``, r = ``decay_rate``, p = t / ``decay_steps`` (⌊p⌋ with ``staircase``).

    Keras twin: ``ExponentialDecay(η0, decay_steps, r, staircase)``.
    """
    p = _progress(step, hp, options)
    return hp["learning_rate"] * ops.power(hp["decay_rate"], p)


def inverse_time(step, steps_per_epoch, hp, options):
    """``η_t = η0 / (1 + r·p)``, r = ``decay_rate``, p = t / ``decay_steps`` (⌊p⌋ with staircase).

    Keras twin: ``InverseTimeDecay(η0, decay_steps, r, staircase)``.
    """
    p = _progress(step, hp, options)
    return hp["learning_rate"] / (1.0 + hp["decay_rate"] * p)


def piecewise(step, steps_per_epoch, hp, options):
    """``η_t = η0·f_i`` with f = ``factors`` and i the number of ``boundaries`` b with t > b.

    Keras twin: ``PiecewiseConstantDecay(boundaries, [η0·f for f in factors])``.
    """
    t = ops.cast(step, hp["learning_rate"].dtype)
    factor = ops.zeros_like(t) + options["factors"][0]
    for boundary, low, high in zip(
        options["boundaries"], options["factors"][:-1], options["factors"][1:], strict=True
    ):
        factor = factor + ops.cast(t > boundary, t.dtype) * (high - low)
    return hp["learning_rate"] * factor


def polynomial(step, steps_per_epoch, hp, options):
    """``η_t = (η0 − η_end)·(1 − t/T)^power + η_end``, T = ``decay_steps``, t ≤ T.

    With ``cycle``, T becomes ``decay_steps·⌈t / decay_steps⌉`` (1 at t = 0) instead of
    clipping t. η_end = ``end_learning_rate``. Keras twin: ``PolynomialDecay``.
    """
    t = ops.cast(step, hp["learning_rate"].dtype)
    horizon = hp["decay_steps"]
    if options.get("cycle", False):
        horizon = horizon * ops.maximum(backend.ceil(t / horizon), 1.0)
    else:
        t = ops.minimum(t, horizon)
    end = hp["end_learning_rate"]
    return (hp["learning_rate"] - end) * ops.power(1.0 - t / horizon, hp["power"]) + end


def cosine(step, steps_per_epoch, hp, options):
    """Linear warm-up from 0 to η0 over W = ``warmup_steps``, then cosine decay over T steps.

    ``η_t = η0·t/W`` for t < W, else ``η0·((1 − α)·½(1 + cos(π·min(t − W, T)/T)) + α)`` with
    T = ``decay_steps``, α = ``alpha``. Keras twin: ``CosineDecay(η0, T, α)`` without warm-up,
    ``CosineDecay(0, T, α, warmup_target=η0, warmup_steps=W)`` with it.
    """
    t = ops.cast(step, hp["learning_rate"].dtype)
    warmup = hp["warmup_steps"]
    in_warmup = t < warmup
    fraction = ops.minimum(t - warmup, hp["decay_steps"]) / hp["decay_steps"]
    decayed = (1.0 - hp["alpha"]) * 0.5 * (1.0 + backend.cos(math.pi * fraction)) + hp["alpha"]
    warmed = t / ops.where(warmup > 0, warmup, 1.0)
    return hp["learning_rate"] * ops.where(in_warmup, warmed, decayed)


def cosine_restarts(step, steps_per_epoch, hp, options):
    """SGDR (Loshchilov & Hutter 2017): cosine decay restarted with growing periods.

    First period T0 = ``decay_steps``; period i lasts ``T0·t_mul^i``; at fraction c of it,
    ``η = η0·((1 − α)·m_mul^i·½(1 + cos(πc)) + α)``, exactly as Keras computes it.
    Keras twin: ``CosineDecayRestarts(η0, T0, t_mul, m_mul, α)``.
    """
    t = ops.cast(step, hp["learning_rate"].dtype)
    t_mul, m_mul = hp["t_mul"], hp["m_mul"]
    completed = t / hp["decay_steps"]
    geometric = ops.not_equal(t_mul, 1.0)
    safe_t_mul = ops.where(geometric, t_mul, 2.0)
    i_geometric = backend.floor(ops.log(1.0 - completed * (1.0 - safe_t_mul)) / ops.log(safe_t_mul))
    sum_r = (1.0 - ops.power(safe_t_mul, i_geometric)) / (1.0 - safe_t_mul)
    fraction_geometric = (completed - sum_r) / ops.power(safe_t_mul, i_geometric)
    i_linear = backend.floor(completed)
    i_restart = ops.where(geometric, i_geometric, i_linear)
    fraction = ops.where(geometric, fraction_geometric, completed - i_linear)
    cosine_decayed = 0.5 * ops.power(m_mul, i_restart) * (1.0 + backend.cos(math.pi * fraction))
    return hp["learning_rate"] * ((1.0 - hp["alpha"]) * cosine_decayed + hp["alpha"])


def wsd(step, steps_per_epoch, hp, options):
    """Warm-up–stable–decay: linear warm-up over W = ``warmup_steps``, η0 until S = (1 − f)·T,
    then a linear anneal to 0 at T = ``decay_steps`` (f = ``anneal_fraction``).

    ``η_t = η0·t/W`` for t < W, ``η0`` for W ≤ t < S, ``η0·(T − t)/(T − S)`` for S ≤ t < T and
    0 after; the piecewise-linear interpolation of (0, 0), (W, η0), (S, η0), (T, 0). Its stable
    phase lets a weight norm reach its equilibrium before the anneal (Hägele et al., 2024; Hu et
    al., 2024). Without ``decay_steps`` in the config, T is the run's whole training, so the
    anneal scales with the budget. Keras has no twin; the tests compare it with NumPy's ``interp``
    of those points.
    """
    t = ops.cast(step, hp["learning_rate"].dtype)
    warmup, horizon = hp["warmup_steps"], hp["decay_steps"]
    stable_end = horizon * (1.0 - hp["anneal_fraction"])
    warmed = ops.minimum(t / ops.where(warmup > 0, warmup, 1.0), 1.0)
    warmed = ops.where(warmup > 0, warmed, ops.ones_like(t))
    anneal = ops.where(horizon > stable_end, horizon - stable_end, 1.0)
    annealed = ops.clip((horizon - t) / anneal, 0.0, 1.0)
    return hp["learning_rate"] * ops.where(t < stable_end, warmed, ops.minimum(annealed, warmed))


def _progress(step, hp, options):
    p = ops.cast(step, hp["learning_rate"].dtype) / hp["decay_steps"]
    return backend.floor(p) if options.get("staircase", False) else p


SCHEDULES = {
    "constant": constant,
    "inverse_sqrt": inverse_sqrt,
    "exponential_per_epoch": exponential_per_epoch,
    "exponential": exponential,
    "inverse_time": inverse_time,
    "piecewise": piecewise,
    "polynomial": polynomial,
    "cosine": cosine,
    "cosine_restarts": cosine_restarts,
    "wsd": wsd,
}

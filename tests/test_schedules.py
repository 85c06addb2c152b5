"""Every schedule against its Keras twin or closed form at steps 0, 1, a middle one and the last."""

import math

import numpy as np
import pytest
from keras.optimizers import schedules as keras_schedules

from decaylab.schedules import SCHEDULES

STEPS = (0, 1, 237, 999)
ETA0 = 0.05


def ours(kind, step, steps_per_epoch=10, options=None, **hp):
    values = {"learning_rate": ETA0, **hp}
    tensors = {name: np.array([value], dtype="float64") for name, value in values.items()}
    result = SCHEDULES[kind](step, steps_per_epoch, tensors, options or {})
    return float(np.asarray(result)[0])


CASES = [
    ("constant", {}, {}, lambda t: ETA0),
    ("inverse_sqrt", {"decay_rate": 0.1}, {}, lambda t: ETA0 / math.sqrt(1 + 0.01 * t)),
    (
        "exponential_per_epoch",
        {"decay_rate": 0.01},
        {},
        keras_schedules.ExponentialDecay(ETA0, 10, 0.99, staircase=True),
    ),
    (
        "exponential",
        {"decay_rate": 0.5, "decay_steps": 100},
        {},
        keras_schedules.ExponentialDecay(ETA0, 100, 0.5),
    ),
    (
        "exponential",
        {"decay_rate": 0.5, "decay_steps": 100},
        {"staircase": True},
        keras_schedules.ExponentialDecay(ETA0, 100, 0.5, staircase=True),
    ),
    (
        "inverse_time",
        {"decay_rate": 0.3, "decay_steps": 50},
        {},
        keras_schedules.InverseTimeDecay(ETA0, 50, 0.3),
    ),
    (
        "inverse_time",
        {"decay_rate": 0.3, "decay_steps": 50},
        {"staircase": True},
        keras_schedules.InverseTimeDecay(ETA0, 50, 0.3, staircase=True),
    ),
    (
        "piecewise",
        {},
        {"boundaries": (1, 300, 600), "factors": (1.0, 0.5, 0.1, 0.01)},
        keras_schedules.PiecewiseConstantDecay(
            [1, 300, 600], [ETA0, ETA0 * 0.5, ETA0 * 0.1, ETA0 * 0.01]
        ),
    ),
    (
        "polynomial",
        {"decay_steps": 500, "end_learning_rate": 0.001, "power": 2.0},
        {},
        keras_schedules.PolynomialDecay(ETA0, 500, 0.001, power=2.0),
    ),
    (
        "polynomial",
        {"decay_steps": 300, "end_learning_rate": 0.001, "power": 0.5},
        {"cycle": True},
        keras_schedules.PolynomialDecay(ETA0, 300, 0.001, power=0.5, cycle=True),
    ),
    (
        "cosine",
        {"decay_steps": 800, "alpha": 0.1, "warmup_steps": 0},
        {},
        keras_schedules.CosineDecay(ETA0, 800, alpha=0.1),
    ),
    (
        "cosine",
        {"decay_steps": 800, "alpha": 0.1, "warmup_steps": 100},
        {},
        keras_schedules.CosineDecay(0.0, 800, alpha=0.1, warmup_target=ETA0, warmup_steps=100),
    ),
    (
        "cosine_restarts",
        {"decay_steps": 100, "t_mul": 2.0, "m_mul": 0.8, "alpha": 0.05},
        {},
        keras_schedules.CosineDecayRestarts(ETA0, 100, t_mul=2.0, m_mul=0.8, alpha=0.05),
    ),
    (
        "cosine_restarts",
        {"decay_steps": 100, "t_mul": 1.0, "m_mul": 0.9, "alpha": 0.0},
        {},
        keras_schedules.CosineDecayRestarts(ETA0, 100, t_mul=1.0, m_mul=0.9),
    ),
    (
        "wsd",
        {"decay_steps": 1000, "warmup_steps": 300, "anneal_fraction": 0.2},
        {},
        lambda t: np.interp(t, [0, 300, 800, 1000], [0, ETA0, ETA0, 0]),
    ),
    (
        "wsd",
        {"decay_steps": 1000, "warmup_steps": 0, "anneal_fraction": 0.5},
        {},
        lambda t: np.interp(t, [0, 500, 1000], [ETA0, ETA0, 0]),
    ),
    (
        "wsd",
        {"decay_steps": 1200, "warmup_steps": 0, "anneal_fraction": 0.0},
        {},
        lambda t: ETA0,
    ),
]


@pytest.mark.parametrize("kind, hp, options, twin", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("step", STEPS)
def test_schedule_matches_its_twin(kind, hp, options, twin, step):
    expected = float(np.asarray(twin(step)))  # Keras computes in float32
    assert ours(kind, step, options=options, **hp) == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_every_schedule_is_covered():
    assert {case[0] for case in CASES} == set(SCHEDULES)


def test_schedule_is_per_run():
    hp = {
        "learning_rate": np.array([0.1, 0.2, 0.3]),
        "decay_rate": np.array([0.0, 0.5, 1.0]),
    }
    lr = np.asarray(SCHEDULES["inverse_sqrt"](3, 1, hp, {}))
    np.testing.assert_allclose(lr, hp["learning_rate"] / np.sqrt(1 + hp["decay_rate"] ** 2 * 3))

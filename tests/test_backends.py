"""The engine under TensorFlow and JAX: the oracle suite on the other backend, and agreement."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import weights

from decaylab import data, models
from decaylab.engine import ShardConfig, train_shard

HERE = Path(__file__).parent
OTHER = {"tensorflow": "jax", "jax": "tensorflow"}[keras.backend.backend()]
ORACLE_SUITE = [
    "test_engine.py",
    "test_schedules.py",
    "test_keras_parity.py",
    "test_numpy_oracle.py",
    "test_resume.py",
    "test_model_oracles.py",
]

SHARD = ShardConfig(
    model=models.ModelSpec(kind="mlp", hidden=(16, 8), activation="tanh"),
    optimizer="adam",
    schedule="cosine",
    regularization="decoupled",
    epochs=10,
    batch_size=16,
    shuffle=True,
)
RUNS = [
    {"learning_rate": lr, "strength": s, "seed": seed, "decay_steps": 50}
    for lr, s, seed in [(0.01, 0.0, 0), (0.03, 0.01, 1), (0.003, 0.1, 2)]
]
AGREEMENT_SCRIPT = """
import sys
import numpy as np
sys.path.insert(0, {here!r})
from test_backends import train_reference
params = train_reference()
np.savez(sys.argv[1], *params)
"""


def other_backend_env():
    return {**os.environ, "KERAS_BACKEND": OTHER, "TF_CPP_MIN_LOG_LEVEL": "2"}


def train_reference():
    train, _, test = data.split_dataset(data.moons(n=96, seed=2), shuffle=True, stratify=True)
    return weights(train_shard(train, test, SHARD, RUNS, device="cpu").params)


@pytest.mark.skipif(
    os.environ.get("DECAYLAB_NESTED") == "1", reason="already inside the other backend's run"
)
def test_oracle_suite_passes_on_the_other_backend():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ORACLE_SUITE],
        cwd=HERE,
        env={**other_backend_env(), "DECAYLAB_NESTED": "1"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, f"{OTHER}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout.splitlines()[-1]


def test_both_backends_agree_on_the_same_shard(tmp_path):
    output = tmp_path / "other.npz"
    result = subprocess.run(
        [sys.executable, "-c", AGREEMENT_SCRIPT.format(here=str(HERE)), str(output)],
        env=other_backend_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(output) as stored:
        theirs = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    ours = train_reference()
    for mine, other in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, other, rtol=1e-4, atol=1e-5 * np.abs(other).max())
    assert not np.allclose(ours[0][0], ours[0][1])  # the runs differ: the check is not vacuous

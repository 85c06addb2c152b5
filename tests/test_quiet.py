"""On a machine without a GPU, decaylab's training prints nothing about CUDA or absl."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAIN_A_SHARD = """
import numpy as np, pandas as pd
from decaylab import ModelSpec, ShardConfig, from_frame, split_dataset, train_shard
rng = np.random.default_rng(0)
frame = pd.DataFrame({"x1": rng.normal(size=80)})
frame["y"] = 2 * frame["x1"] + rng.normal(scale=0.3, size=80)
train, validation, test = split_dataset(
    from_frame(frame, target="y"), test_fraction=0.25, validation_fraction=0.25, shuffle=True
)
config = ShardConfig(model=ModelSpec("linear"), optimizer="sgd", epochs=3, batch_size=8)
result = train_shard(train, test, config, [{"learning_rate": 0.1, "seed": 0}],
                     validation=validation)
print(len(result.runs))
"""

pytestmark = pytest.mark.skipif(
    any(Path("/dev").glob("nvidia[0-9]*")), reason="a GPU is present: CUDA lines are expected"
)


def run(env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-c", TRAIN_A_SHARD], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_training_from_python_prints_no_native_log_lines(backend):
    result = run({"KERAS_BACKEND": backend})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "1"
    assert result.stderr == ""


def test_the_native_lines_come_back_when_asked_for():
    """The filter drops by level, not everything: at level 0 TensorFlow's notices are shown."""
    result = run({"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cuda" in result.stderr.lower()

"""Compile once: two shards of the same shapes compile once, and a warm persistent cache
compiles nothing (observed as the cache folder: a compilation writes an entry, a hit reads)."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, os, sys
from pathlib import Path
from decaylab import backend, data, models
from decaylab.engine import ShardConfig, train_shard

def entries():
    return {p.name: p.stat().st_mtime_ns for p in backend.compilation_cache().iterdir()}

train, _, test = data.split_dataset(data.moons(n=80, seed=1), shuffle=True, stratify=True)
config = ShardConfig(model=models.ModelSpec("mlp", hidden=(8,)), optimizer="adam", epochs=4,
                     batch_size=16, shuffle=True)
def runs(lr):
    return [{"learning_rate": lr, "regularization": kind, "strength": 0.01, "seed": s}
            for kind in ("l2", "decoupled") for s in (0, 1)]
snapshots = []
for lr in sys.argv[1:]:
    train_shard(train, test, config, runs(float(lr)), device="cpu")
    snapshots.append(entries())
print(json.dumps(snapshots))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_same_shapes_compile_once_and_a_warm_cache_compiles_nothing(tmp_path, backend):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "DECAYLAB_COMPILATION_CACHE": str(tmp_path),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }

    def run(*learning_rates):
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, *map(str, learning_rates)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.splitlines()[-1])

    cold_first, cold_second = run(0.01, 0.03)
    assert cold_first, "the cold run wrote nothing to the compilation cache"
    assert cold_second == cold_first, "a second shard of the same shapes compiled again"
    (warm,) = run(0.1)
    assert warm == cold_first, "the warm run compiled what the cache held"

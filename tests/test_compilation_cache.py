"""Compile once: two shards of the same shapes compile once, a shard of a nearby size reuses
the compiled chunk of its bucket, and a warm persistent cache compiles nothing (observed as the
cache folder: a compilation writes an entry, a hit reads)."""

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
def runs(lr, seeds):
    return [{"learning_rate": lr, "regularization": kind, "strength": 0.01, "seed": s}
            for kind in ("l2", "decoupled") for s in range(seeds)]
snapshots = []
for shard in sys.argv[1:]:
    lr, seeds = shard.split(":")
    train_shard(train, test, config, runs(float(lr), int(seeds)), device="cpu")
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

    def run(*shards):
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, *shards],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.splitlines()[-1])

    cold_first, cold_second = run("0.01:2", "0.03:2")
    assert cold_first, "the cold run wrote nothing to the compilation cache"
    assert cold_second == cold_first, "a second shard of the same shapes compiled again"
    (warm,) = run("0.1:2")
    assert warm == cold_first, "the warm run compiled what the cache held"


def test_a_shard_of_a_nearby_size_reuses_the_compiled_chunk_of_its_bucket(tmp_path):
    env = {**os.environ, "DECAYLAB_COMPILATION_CACHE": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    # 34 and 36 runs share the bucket of 36 runs; 38 runs are compiled for 40
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, "0.01:17", "0.01:18", "0.01:19"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    seventeen, eighteen, nineteen = json.loads(result.stdout.splitlines()[-1])
    assert seventeen and eighteen == seventeen, "a shard one seed larger compiled again"
    assert set(nineteen) > set(eighteen), "a shard of the next bucket compiled nothing"

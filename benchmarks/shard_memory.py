"""The memory check's estimate against the measured peak resident memory, shard by shard.

    python benchmarks/shard_memory.py [--threads 2]

For each shape, ``decaylab.memory.shard_peak`` estimates the shard's peak and a fresh process (the
backend imported, the data generated and split, the shard trained as the workflow trains it)
measures its peak resident set size (``VmHWM``: ``ru_maxrss`` would report the parent's size instead
when a large process, such as a test session, starts it). Prints a table with their ratio and writes
it to ``docs/performance/shard_memory.json`` (``--json``), the source of the performance page's
table; the test ``tests/test_memory.py`` asks every ratio to lie within a factor of 2.

The shapes are small and large K, an MLP, a CNN, batch normalization, a long run with a record
every epoch, and the paper shard (``config/paper.yaml``'s ``decoupling_sgd``). Memory does not
depend on the number of epochs beyond the chunk's bounded order and records, so most shapes
train two epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs/performance/shard_memory.json"
MNIST1D = {"generator": "mnist1d", "split": {"test_fraction": 0.2, "validation_fraction": 0.2,
           "shuffle": True, "stratify": True, "seed": 0}}  # fmt: skip
DIGITS = {**MNIST1D, "generator": "digits"}
MOONS = {**MNIST1D, "generator": "moons", "n": 400}
SGD_GRID = {"optimizer": "sgd", "shuffle": True, "schedule": {"kind": "cosine", "decay_steps": 60}}
SHAPES = {
    "MLP, small K": (
        MOONS,
        {**SGD_GRID, "model": {"kind": "mlp", "hidden": [32, 32]}, "epochs": 2, "batch_size": 32,
         "learning_rate": 0.1, "regularization": {"kind": "l2", "strength": [1e-4, 1e-3]},
         "seeds": [0, 1]},
    ),
    "MLP, digits, K = 216": (
        DIGITS,
        {**SGD_GRID, "model": {"kind": "mlp", "hidden": [64, 64]}, "epochs": 2, "batch_size": 32,
         "learning_rate": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
         "regularization": {"kind": ["l2", "decoupled"],
                            "strength": [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]},
         "seeds": [0, 1, 2]},
    ),
    "CNN, digits, K = 32": (
        DIGITS,
        {**SGD_GRID, "model": {"kind": "cnn", "filters": [16, 32], "hidden": [64]}, "epochs": 2,
         "batch_size": 32, "learning_rate": [0.01, 0.03, 0.1, 0.3],
         "regularization": {"kind": "l2", "strength": [1e-4, 1e-3, 1e-2, 1e-1]},
         "seeds": [0, 1]},
    ),
    "batch norm, MNIST-1D, K = 180": (
        MNIST1D,
        {**SGD_GRID, "model": {"kind": "mlp", "hidden": [100, 100], "normalization": "batch",
                               "affine": False, "fixed_head": True},
         "epochs": 2, "batch_size": 100, "learning_rate": [0.01, 0.03, 0.1, 0.3, 1, 3],
         "regularization": {"kind": "l2", "strength": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3]},
         "seeds": [0, 1, 2, 3, 4]},
    ),
    "long, every epoch recorded, K = 400": (
        MOONS,
        {**SGD_GRID, "model": {"kind": "mlp", "hidden": [16]}, "epochs": 3000, "batch_size": 200,
         "learning_rate": [0.01, 0.03, 0.1, 0.3], "history_stride": 1,
         "regularization": {"kind": "l2", "strength": [1e-5, 1e-4, 1e-3, 1e-2, 0.1]},
         "seeds": list(range(20))},
    ),
    "paper shard, MNIST-1D, K = 640": (
        MNIST1D,
        {**SGD_GRID, "model": {"kind": "mlp", "hidden": [100, 100]}, "epochs": 2,
         "batch_size": 100, "learning_rate": [0.003, 0.006, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
         "regularization": {"kind": ["l2", "decoupled"],
                            "strength": [1e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 1e-2, 0.1]},
         "seeds": [0, 1, 2, 3, 4]},
    ),
}  # fmt: skip

MEASURE = """
import json, re, sys
from decaylab import data, grid, runner
dataset, experiment, threads = json.loads(sys.argv[1])
generated = data.generate(dataset["generator"], **grid.source_options(dataset))
parts = data.prepare(generated, data.split(generated, **grid.split_options(dataset)))
(shard,) = grid.shards("shape", experiment)
shard = shard.as_params()
runner.train(shard, parts.train, parts.test, threads=threads,
             validation=parts.validation)
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024)
"""


def estimate(dataset: dict, experiment: dict) -> float:
    """The memory check's estimate in bytes for the shape's single shard."""
    from decaylab import data_facts, grid, memory

    problems, facts = data_facts.of("shape", dataset)
    assert not problems, problems
    (shard,) = grid.shards("shape", {"dataset": "shape", **experiment})
    return memory.shard_peak(shard, facts)


def measured(dataset: dict, experiment: dict, threads: int) -> float:
    """The peak resident set size in bytes of a fresh process that trains the shape's shard."""
    argument = json.dumps([dataset, {"dataset": "shape", **experiment}, threads])
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, argument], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return float(done.stdout.split()[-1])


def table(threads: int = 2) -> list[tuple[str, float, float]]:
    """``(shape, estimate, measured)`` in bytes for every shape."""
    return [
        (name, estimate(dataset, experiment), measured(dataset, experiment, threads))
        for name, (dataset, experiment) in SHAPES.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the table is written")
    args = parser.parse_args()
    from decaylab import docs_blocks

    columns = ("shard", "estimate (MiB)", "measured peak RSS (MiB)", "estimate / measured")
    rows = [
        (name, f"{guess / 2**20:,.0f}", f"{peak / 2**20:,.0f}", f"{guess / peak:.2f}")
        for name, guess, peak in table(args.threads)
    ]
    command = "python benchmarks/shard_memory.py"
    measured_on = (
        f"a {os.cpu_count()}-core machine, {args.threads} threads, each shard in a fresh process"
    )
    print(docs_blocks.write_table(args.json, columns, rows, command, measured_on))


if __name__ == "__main__":
    main()

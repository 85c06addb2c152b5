"""The engine's throughput against the machine's matrix-product rate, side by side, in one run.

    python benchmarks/paper_shard.py [--threads 2] [--epochs 10] [--repeats 3]

Prints a table, and writes it to ``docs/performance/paper_shard.json`` (``--json``), the source of
the performance page's table: one row per shard shape: runs K, updates per run, the median seconds
of a trained shard once compiled (the first call, which compiles, is left out), run-updates per
second, the useful work's rate in GFLOP/s and its ratio to the rate of one 2048³ float32 product
compiled by the same backend with the same threads (measured in the same process, median of
``--repeats``), and to the rate of the shard's widest layer alone: the K-batched ``(B × H) · (H ×
H)`` product that every run's step is made of (repeated over copies of the K runs to about 2 GFLOP
per call, so that the call's overhead does not count), the rate a shard made only of such products
would reach.

Useful work of an MLP with W kernel weights (biases and the optimizer's element-wise work are
not counted): ``6·W·B`` per run and update (forward ``2·W·B``, backward ``4·W·B``) and
``2·W·rows`` per run and evaluation of every row (at epoch 0 and at the end).

Shapes: ``paper`` is ``config/paper.yaml``'s ``decoupling_sgd`` shard (MNIST-1D, MLP
40 → 100 → 100 → 10, 3,000 training rows, batch 100, 640 runs, l2 and decoupled: the design of
that experiment when this benchmark was written; it now has 825 runs of three kinds); ``default``
is the default study's ``decoupling_sgd`` shard (digits, 64 → 64 → 64 → 10, 1,079 rows, batch 32,
108 runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "docs/performance/paper_shard.json"
SHAPES = {
    "paper": {
        "source": "mnist1d",
        "hidden": (100, 100),
        "batch_size": 100,
        "learning_rate": [0.003, 0.006, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
        "strength": [1e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 1e-2, 0.1],
        "seeds": 5,
    },
    "default": {
        "source": "digits",
        "hidden": (64, 64),
        "batch_size": 32,
        "learning_rate": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
        "strength": [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0],
        "seeds": 3,
    },
}


def shard_parts(shape: dict):
    """Training, validation and test parts as the workflow prepares them (60/20/20, stratified)."""
    from decaylab import data

    dataset = data.generate(shape["source"])
    rows = data.split(
        dataset, test_fraction=0.2, validation_fraction=0.2, shuffle=True, stratify=True
    )
    return data.prepare(dataset, rows)


def useful_flop(shape: dict, parts, k: int, epochs: int) -> float:
    """Training and evaluation FLOP of the shard (see the module docstring)."""
    widths = [parts.train.x.shape[1], *shape["hidden"], int(parts.train.y.max()) + 1]
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=False))
    rows = len(parts.train.y)
    updates = epochs * -(-rows // shape["batch_size"])
    evaluated = rows + len(parts.validation.y) + len(parts.test.y)
    return k * (6 * weights * shape["batch_size"] * updates + 2 * 2 * weights * evaluated)


def product_rate(a_shape, b_shape, equation: str, repeats: int) -> float:
    """GFLOP/s of one compiled float32 ``einsum(equation)`` (median of ``repeats`` after a
    warm-up)."""
    from decaylab import backend

    from keras import ops  # isort: skip

    product = backend.compile(lambda a, b: ops.einsum(equation, a, b))
    rng = np.random.default_rng(0)
    a, b = (
        ops.convert_to_tensor(rng.standard_normal(s).astype(np.float32)) for s in (a_shape, b_shape)
    )
    ops.convert_to_numpy(product(a, b))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        ops.convert_to_numpy(product(a, b))
        times.append(time.perf_counter() - started)
    flop = 2 * np.prod(a_shape) * b_shape[-1]
    return flop / statistics.median(times) / 1e9


def shard_seconds(shape: dict, parts, epochs: int, repeats: int) -> tuple[int, float]:
    """Runs and the median seconds of ``train_shard`` once its chunk is compiled."""
    from decaylab import engine, models

    config = engine.ShardConfig(
        model=models.ModelSpec(kind="mlp", hidden=shape["hidden"]),
        optimizer="sgd",
        schedule="cosine",
        epochs=epochs,
        batch_size=shape["batch_size"],
        shuffle=True,
        history_stride=epochs,
    )
    decay_steps = epochs * -(-len(parts.train.y) // shape["batch_size"])
    runs = [
        {
            "learning_rate": lr,
            "strength": strength,
            "regularization": kind,
            "seed": seed,
            "decay_steps": decay_steps,
        }
        for kind in ("l2", "decoupled")
        for lr in shape["learning_rate"]
        for strength in shape["strength"]
        for seed in range(shape["seeds"])
    ]

    def once() -> float:
        result = engine.train_shard(
            parts.train, parts.test, config, runs, validation=parts.validation, chunk_epochs=epochs
        )
        return result.seconds

    once()  # compiles
    return len(runs), statistics.median(once() for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the table is written")
    args = parser.parse_args()

    from decaylab import backend

    backend.set_threads(args.threads)
    matmul = product_rate((2048, 2048), (2048, 2048), "ij,jk->ik", args.repeats)
    print(
        f"backend {backend.NAME}, {args.threads} threads; "
        f"2048³ float32 product: {matmul:.1f} GFLOP/s"
    )
    columns = ("shape", "runs", "updates/run", "seconds", "run-updates/s", "GFLOP/s",
               "of 2048³", "batched layer, GFLOP/s", "of batched layer")  # fmt: skip
    rows = []
    for name in args.shapes:
        shape = SHAPES[name]
        parts = shard_parts(shape)
        k, seconds = shard_seconds(shape, parts, args.epochs, args.repeats)
        updates = args.epochs * -(-len(parts.train.y) // shape["batch_size"])
        rate = useful_flop(shape, parts, k, args.epochs) / seconds / 1e9
        width, batch = shape["hidden"][0], shape["batch_size"]
        copies = k * max(1, round(2e9 / (2 * k * batch * width**2)))  # ≈ 2 GFLOP: no call overhead
        layer = product_rate(
            (copies, batch, width), (copies, width, width), "kbi,kio->kbo", args.repeats
        )
        rows.append(
            (name, k, updates, f"{seconds:.2f}", f"{k * updates / seconds:,.0f}", f"{rate:.1f}",
             f"{rate / matmul:.0%}", f"{layer:.1f}", f"{rate / layer:.0%}")
        )  # fmt: skip
    from decaylab import docs_blocks

    command = f"python benchmarks/paper_shard.py --repeats {args.repeats}"
    measured_on = (
        f"a {os.cpu_count()}-core machine, {args.threads} threads, backend {backend.NAME}, "
        f"{args.epochs} epochs; one 2048³ float32 product: {matmul:.1f} GFLOP/s"
    )
    print(docs_blocks.write_table(args.json, columns, rows, command, measured_on))


if __name__ == "__main__":
    main()

"""Time one large shard of MLP runs on the GPU and on the CPU cores of the same machine.

    KERAS_BACKEND=jax python benchmarks/gpu_vs_cpu.py [--runs 256] [--hidden 128 128]

Each device trains the shard twice: the first call includes tracing and XLA compilation, the
second reuses the compiled loop (steady state). Prints a table with the CPU/GPU ratios and
writes it to ``docs/performance/gpu_vs_cpu.json`` (``--json``), the source of the GPU page's
table.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np

from decaylab import backend, data, docs_blocks, models
from decaylab.engine import ShardConfig, train_shard

RESULTS = Path(__file__).resolve().parents[1] / "docs/performance/gpu_vs_cpu.json"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=256)
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 128])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the table is written")
    args = parser.parse_args()

    dataset = data.linear(n=args.rows, n_features=args.features, slope=0.3, noise=0.5)
    train, _, test = data.split_dataset(dataset, test_fraction=0.2, shuffle=True)
    config = ShardConfig(
        model=models.ModelSpec(kind="mlp", hidden=tuple(args.hidden), activation="relu"),
        optimizer="adam",
        regularization="l2",
        epochs=args.epochs,
        batch_size=args.batch_size,
        shuffle=True,
        history_stride=args.epochs,
    )
    side = int(np.ceil(np.sqrt(args.runs)))
    grid = itertools.product(np.logspace(-4, -1, side), np.logspace(-6, -1, side))
    runs = [
        {"learning_rate": float(lr), "strength": float(s), "seed": i}
        for i, (lr, s) in zip(range(args.runs), grid, strict=False)
    ]
    devices = ["gpu", "cpu"] if backend.gpu_names() else ["cpu"]
    rows = {}
    for device in devices:
        times, result = [], None
        for _ in range(2):
            started = time.perf_counter()
            result = train_shard(train, test, config, runs, device=device)
            times.append(time.perf_counter() - started)
        rows[device] = (result.device, times, result.runs["test_mse"].median())
    shape = (
        f"{args.runs} MLP runs {args.features}→{'→'.join(map(str, args.hidden))}→1, "
        f"{len(train.y)} rows, {args.epochs} epochs, batch {args.batch_size}, Adam + l2; "
        f"backend {backend.NAME}, {os.cpu_count()} CPU cores"
    )
    columns = ("device", "first call, s (with compile)", "second call, s", "ms per run",
               "median test MSE")  # fmt: skip
    table = [
        (description, f"{times[0]:.2f}", f"{times[1]:.3f}", f"{1000 * times[1] / args.runs:.2f}",
         f"{mse:.4g}")
        for description, times, mse in rows.values()
    ]  # fmt: skip
    note = "No GPU visible: CPU only."
    if "gpu" in rows:
        cpu, gpu = rows["cpu"][1], rows["gpu"][1]
        note = f"CPU/GPU: {cpu[1] / gpu[1]:.1f}× steady state, {cpu[0] / gpu[0]:.1f}× with compile."
    command = "benchmarks/gpu_check.sh"
    print(docs_blocks.write_table(args.json, columns, table, command, shape, note=note))


if __name__ == "__main__":
    main()

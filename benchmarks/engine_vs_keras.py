"""Time and peak memory of the engine against Keras, side by side, in one run.

    python benchmarks/engine_vs_keras.py [--threads 2] [--fit-configs 3]

Each measurement runs in its own process (so its peak resident memory is its own) with the same
number of CPU threads, and prints one JSON line; this script gathers them into a table with the
speed-up over ``model.fit`` per run, prints it and writes it to
``docs/performance/engine_vs_keras.json`` (``--json``), the source of the performance page's
table. The engine's first call includes tracing and XLA
compilation (the ratios use it) unless the persistent compilation cache already holds it (the
"warm cache" row); later calls reuse the compiled loop (their median is shown).

1. The article's problem (80 rows, 1000 epochs, batch 32, SGD, η0 = 0.01 decayed by (1 − 0.001)
   per epoch, l2 λ = 0.01): the article's eager ``GradientTape`` loop (its errors fixed), one
   Keras ``model.fit``, the engine with one run, the engine with a 100-run shard.
2. 64 MLP configurations (20 → 64 → 64 → 1, 5000 rows, 20 epochs, batch 128, Adam, each with its
   own learning rate and l2 strength): one engine shard against ``model.fit`` per configuration
   (``--fit-configs`` of them timed, the total extrapolated to 64), the engine under TensorFlow
   and under JAX, each with a cold and then a warm persistent compilation cache.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs/performance/engine_vs_keras.json"
ARTICLE = {"epochs": 1000, "batch_size": 32, "learning_rate": 0.01, "decay": 0.001, "l2": 0.01}
MLP = {"n": 5000, "features": 20, "hidden": (64, 64), "epochs": 20, "batch_size": 128}
MLP_GRID = [
    {"learning_rate": lr, "strength": strength}
    for lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
    for strength in (0.0, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
]


def article_data():
    from decaylab import data

    dataset = data.linear()
    parts = data.split_dataset(dataset)
    return parts.train, parts.test


def mlp_data():
    from decaylab import data

    dataset = data.linear(n=MLP["n"], n_features=MLP["features"], slope=0.3, noise=0.5)
    rows = data.split(dataset, test_fraction=0.2, shuffle=True)
    return (data.Dataset(dataset.x[r], dataset.y[r], dataset.task) for r in (rows.train, rows.test))


def half_mse(y, f):
    import keras

    return 0.5 * keras.ops.mean(keras.ops.square(y - f), axis=-1)


def measure_article_eager(repeats):
    """The article's loop with its errors fixed: eager GradientTape, one step per mini-batch."""
    import tensorflow as tf

    train, _ = article_data()
    x, y = tf.constant(train.x, tf.float32), tf.constant(train.y, tf.float32)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        w, b = tf.Variable(tf.random.normal([1, 1])), tf.Variable(tf.zeros([1]))
        optimizer = tf.keras.optimizers.SGD(learning_rate=ARTICLE["learning_rate"])
        for _epoch in range(ARTICLE["epochs"]):
            for i in range(0, len(train.y), ARTICLE["batch_size"]):
                xb, yb = x[i : i + ARTICLE["batch_size"]], y[i : i + ARTICLE["batch_size"]]
                with tf.GradientTape() as tape:
                    loss = 0.5 * tf.reduce_mean((xb @ w + b - yb) ** 2)
                    loss += ARTICLE["l2"] / 2 * tf.reduce_sum(w**2)
                grads = tape.gradient(loss, [w, b])
                optimizer.apply_gradients(zip(grads, [w, b], strict=True))
            optimizer.learning_rate.assign(optimizer.learning_rate * (1 - ARTICLE["decay"]))
        times.append(time.perf_counter() - started)
    return times, 1


def measure_article_fit(repeats):
    import keras

    train, _ = article_data()
    steps = -(-len(train.y) // ARTICLE["batch_size"])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model = keras.Sequential(
            [
                keras.Input((1,)),
                keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(ARTICLE["l2"] / 2)),
            ]
        )
        schedule = keras.optimizers.schedules.ExponentialDecay(
            ARTICLE["learning_rate"], steps, 1 - ARTICLE["decay"], staircase=True
        )
        model.compile(keras.optimizers.SGD(schedule), loss=half_mse)
        model.fit(
            train.x,
            train.y,
            batch_size=ARTICLE["batch_size"],
            epochs=ARTICLE["epochs"],
            shuffle=False,
            verbose=0,
        )
        times.append(time.perf_counter() - started)
    return times, 1


def measure_article_engine(repeats, n_runs):
    from decaylab.engine import ShardConfig, train_shard

    train, test = article_data()
    config = ShardConfig(
        epochs=ARTICLE["epochs"],
        batch_size=ARTICLE["batch_size"],
        schedule="exponential_per_epoch",
        regularization="l2",
        history_stride=100,
    )
    runs = [
        {
            "learning_rate": ARTICLE["learning_rate"],
            "decay_rate": ARTICLE["decay"],
            "strength": ARTICLE["l2"],
            "seed": seed,
        }
        for seed in range(n_runs)
    ]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        train_shard(train, test, config, runs)
        times.append(time.perf_counter() - started)
    return times, n_runs


def measure_mlp_fit(repeats, n_configs):
    import keras

    train, _ = mlp_data()
    times = []
    for config in MLP_GRID[:n_configs]:
        started = time.perf_counter()
        regularizer = keras.regularizers.L2(config["strength"] / 2)
        model = keras.Sequential(
            [keras.Input((MLP["features"],))]
            + [keras.layers.Dense(h, "relu", kernel_regularizer=regularizer) for h in MLP["hidden"]]
            + [keras.layers.Dense(1, kernel_regularizer=regularizer)]
        )
        model.compile(keras.optimizers.Adam(config["learning_rate"]), loss=half_mse)
        model.fit(
            train.x,
            train.y,
            batch_size=MLP["batch_size"],
            epochs=MLP["epochs"],
            verbose=0,
        )
        times.append(time.perf_counter() - started)
    return times, 1


def measure_mlp_engine(repeats):
    from decaylab import models
    from decaylab.engine import ShardConfig, train_shard

    train, test = mlp_data()
    config = ShardConfig(
        model=models.ModelSpec(kind="mlp", hidden=MLP["hidden"], activation="relu"),
        optimizer="adam",
        regularization="l2",
        epochs=MLP["epochs"],
        batch_size=MLP["batch_size"],
        shuffle=True,
        history_stride=MLP["epochs"],
    )
    runs = [{**config_, "seed": i} for i, config_ in enumerate(MLP_GRID)]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        train_shard(train, test, config, runs)
        times.append(time.perf_counter() - started)
    return times, len(runs)


MEASUREMENTS = {
    ("article", "eager GradientTape loop"): lambda a: measure_article_eager(1),
    ("article", "Keras model.fit"): lambda a: measure_article_fit(1),
    ("article", "engine, 1 run"): lambda a: measure_article_engine(a.repeats, 1),
    ("article", "engine, 100-run shard"): lambda a: measure_article_engine(a.repeats, 100),
    ("64 MLPs", "Keras model.fit per config"): lambda a: measure_mlp_fit(1, a.fit_configs),
    ("64 MLPs", "engine, 64-run shard, cold cache"): lambda a: measure_mlp_engine(a.repeats),
    ("64 MLPs", "engine, 64-run shard, warm cache"): lambda a: measure_mlp_engine(a.repeats),
    ("64 MLPs", "engine (JAX), 64-run shard, cold cache"): lambda a: measure_mlp_engine(a.repeats),
    ("64 MLPs", "engine (JAX), 64-run shard, warm cache"): lambda a: measure_mlp_engine(a.repeats),
}


def child(args):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["DECAYLAB_COMPILATION_CACHE"] = args.cache
    from keras import ops

    from decaylab import backend  # turns the persistent compilation cache on

    backend.set_threads(args.threads)
    # start the backend's runtime and XLA once, outside the timings: a cost per process, not run
    backend.compile(lambda x: x + 1)(ops.convert_to_tensor(1.0))
    key = tuple(args.measure)
    times, runs = MEASUREMENTS[key](args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": times, "runs": runs, "peak_mb": peak_mb}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the engine timings")
    parser.add_argument("--fit-configs", type=int, default=3)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the table is written")
    args = parser.parse_args()
    if args.measure:
        return child(args)
    rows = []
    cache = tempfile.mkdtemp(prefix="decaylab-compilation-cache-")
    for case, method in MEASUREMENTS:
        command = [sys.executable, __file__, "--measure", case, method, "--cache", cache]
        command += ["--threads", str(args.threads), "--repeats", str(args.repeats)]
        command += ["--fit-configs", str(args.fit_configs)]
        backend = "jax" if "(JAX)" in method else "tensorflow"
        env = {**os.environ, "KERAS_BACKEND": backend}
        print(f"measuring {case}: {method} …", file=sys.stderr, flush=True)
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
        result = json.loads(output.strip().splitlines()[-1])
        times = result["times"]
        if method == "Keras model.fit per config":  # one fit per run: extrapolate to 64 runs
            runs, first = len(MLP_GRID), statistics.median(times) * len(MLP_GRID)
            later = None
        else:
            runs, first = result["runs"], times[0]
            later = statistics.median(times[1:]) if len(times) > 1 else None
        rows.append((case, method, runs, first, later, first / runs, result["peak_mb"]))
    table = []
    for case, method, runs, first, later, per_run, peak in rows:
        fit = next(r for r in rows if r[0] == case and "fit" in r[1])
        later_text = f"{later:.3g}" if later is not None else "–"
        table.append(
            (
                case,
                method,
                runs,
                f"{first:.3g}",
                later_text,
                f"{per_run:.3g}",
                f"{fit[5] / per_run:.3g}×",
                f"{peak:.0f}",
            )
        )
    shutil.rmtree(cache)
    from decaylab import docs_blocks

    columns = (
        "case",
        "method",
        "runs",
        "wall time, s (first call)",
        "later calls, s (median)",
        "s per run",
        "speed-up per run vs fit",
        "peak RSS, MiB",
    )
    print(
        docs_blocks.write_table(
            args.json,
            columns,
            table,
            command="python benchmarks/engine_vs_keras.py",
            measured_on=f"a {os.cpu_count()}-core machine, {args.threads} threads per process",
            align=["left", "left"] + ["right"] * 6,
            note=f"`model.fit` per config: {args.fit_configs} of the 64 timed (median), ×64; "
            "speed-ups use the engine's first call, compilation included. Every process shares "
            "one persistent compilation cache, empty at the start: the cold row fills it, the "
            "warm row (a new process) reads it.",
        )
    )


if __name__ == "__main__":
    main()

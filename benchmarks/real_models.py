"""The new models on real data, against Keras ``model.fit`` per configuration, side by side.

    python benchmarks/real_models.py [--threads 2] [--repeats 3] [--fit-configs 2]

Each measurement runs in its own process (its peak resident memory is its own) with the same
CPU threads and prints one JSON line; this script prints two tables — the models with the
speed-up per run, the convolutions' step per method — and writes them to
``docs/performance/real_models.json`` and ``real_models_convolutions.json``, the sources of the
performance page's tables.
The engine's first call includes tracing and XLA compilation ("with compilation", a cold
persistent cache); its later calls reuse the compiled chunk ("compiled": their median).

1. MNIST-1D (4,000 training rows of 40 points, 10 classes), a CNN: Conv1D 16 → pool 2 → Conv1D
   32 → pool 2 → dense 10, kernel 5, ReLU; Adam, decoupled weight decay, batch 100, 20 epochs;
   32 configurations (4 learning rates × 4 strengths × 2 seeds) in one shard, against
   ``model.fit`` of the same Keras model per configuration (``--fit-configs`` timed, the total
   extrapolated to 32). The best run's test accuracy is printed (MNIST-1D's published CNN
   reaches about 94 %, after longer training).
2. ``digits`` (1,437 training rows of 64 standardized pixels), an MLP 64 → 64 → 10 with ReLU;
   Adam with l2, batch 32, 20 epochs; 64 configurations (8 learning rates × 8 strengths).
3. How to batch the convolutions over runs: gradient steps through the CNN's two convolutions
   for the 32 runs, inside a compiled loop, as gathered windows and one batched product (im2col,
   the engine), as one native convolution per run unrolled in the graph, as one grouped
   convolution (HFTA's fusion), and under JAX as ``jax.vmap`` of one run's convolution.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs/performance"
CNN = {"filters": (16, 32), "kernel_size": 5, "epochs": 20, "batch_size": 100}
CNN_GRID = [
    {"learning_rate": lr, "strength": s, "seed": seed}
    for lr in (1e-3, 3e-3, 1e-2, 3e-2)
    for s in (1e-4, 1e-3, 1e-2, 1e-1)
    for seed in (0, 1)
]
MLP = {"hidden": (64, 64), "epochs": 20, "batch_size": 32}
MLP_GRID = [
    {"learning_rate": lr, "strength": s, "seed": 0}
    for lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
    for s in (0.0, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
]


def mnist1d_parts():
    from decaylab import data

    return data.split_dataset(data.generate("mnist1d"), test_fraction=0.2)  # the 4000/1000 split


def digits_parts():
    from decaylab import data

    dataset = data.generate("digits")
    return data.split_dataset(dataset, shuffle=True, stratify=True, standardize=True)


def cnn_spec():
    from decaylab import models

    return models.ModelSpec("cnn", filters=CNN["filters"], kernel_size=CNN["kernel_size"])


def keras_cnn():
    import keras

    layers = [keras.Input((40, 1))]
    for width in CNN["filters"]:
        layers += [
            keras.layers.Conv1D(width, CNN["kernel_size"], padding="same", activation="relu"),
            keras.layers.MaxPooling1D(2),
        ]
    layers += [keras.layers.Flatten(), keras.layers.Dense(10)]
    return keras.Sequential(layers)


def measure_cnn_fit(n_configs):
    import keras

    parts = mnist1d_parts()
    x, y = parts.train.x.reshape(-1, 40, 1), parts.train.y
    times = []
    for config in CNN_GRID[:n_configs]:
        started = time.perf_counter()
        model = keras_cnn()  # decoupled_lr weight decay is AdamW's, biases excluded
        optimizer = keras.optimizers.AdamW(config["learning_rate"], config["strength"])
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        model.compile(
            optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(x, y, batch_size=CNN["batch_size"], epochs=CNN["epochs"], verbose=0)
        times.append(time.perf_counter() - started)
    return {"times": times, "runs": 1}


def measure_cnn_engine(repeats):
    from decaylab.engine import ShardConfig, train_shard

    parts = mnist1d_parts()
    config = ShardConfig(
        model=cnn_spec(),
        optimizer="adam",
        regularization="decoupled_lr",
        epochs=CNN["epochs"],
        batch_size=CNN["batch_size"],
        shuffle=True,
        history_stride=CNN["epochs"],
    )
    times, accuracy = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = train_shard(parts.train, parts.test, config, CNN_GRID)
        times.append(time.perf_counter() - started)
        accuracy = float(result.runs["test_accuracy"].max())
    return {"times": times, "runs": len(CNN_GRID), "best_test_accuracy": accuracy}


def measure_mlp_fit(n_configs):
    import keras

    parts = digits_parts()
    times = []
    for config in MLP_GRID[:n_configs]:
        started = time.perf_counter()
        regularizer = keras.regularizers.L2(config["strength"] / 2)
        model = keras.Sequential(
            [keras.Input((64,))]
            + [keras.layers.Dense(h, "relu", kernel_regularizer=regularizer) for h in MLP["hidden"]]
            + [keras.layers.Dense(10, kernel_regularizer=regularizer)]
        )
        model.compile(
            keras.optimizers.Adam(config["learning_rate"]),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(
            parts.train.x,
            parts.train.y,
            batch_size=MLP["batch_size"],
            epochs=MLP["epochs"],
            verbose=0,
        )
        times.append(time.perf_counter() - started)
    return {"times": times, "runs": 1}


def measure_mlp_engine(repeats):
    from decaylab import models
    from decaylab.engine import ShardConfig, train_shard

    parts = digits_parts()
    config = ShardConfig(
        model=models.ModelSpec("mlp", hidden=MLP["hidden"]),
        optimizer="adam",
        regularization="l2",
        epochs=MLP["epochs"],
        batch_size=MLP["batch_size"],
        shuffle=True,
        history_stride=MLP["epochs"],
    )
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = train_shard(parts.train, parts.test, config, MLP_GRID)
        times.append(time.perf_counter() - started)
    best = float(result.runs["test_accuracy"].max())
    return {"times": times, "runs": len(MLP_GRID), "best_test_accuracy": best}


def measure_step(repeats, how):
    """Gradient steps through the CNN's two convolutions (Conv1D 1 → 16 → 32, kernel 5, ReLU)
    for 32 runs on batches of 100, ten in one compiled loop as the engine runs them, per step:
    gathered windows and one batched product (im2col, the engine), one native convolution per
    run unrolled in the graph, one grouped convolution with 32 groups (HFTA's fusion), or —
    under JAX — ``jax.vmap`` of Keras's convolution of one run."""
    import numpy as np
    from keras import ops

    from decaylab import backend, models

    k, b, length = len(CNN_GRID), CNN["batch_size"], 40
    rng = np.random.RandomState(0)
    x = ops.convert_to_tensor(rng.normal(size=(k, b, length, 1)).astype("float32"))
    kernels = [
        ops.convert_to_tensor(rng.normal(size=(k, CNN["kernel_size"], c, f)).astype("float32"))
        for c, f in ((1, 16), (16, 32))
    ]

    def grouped(h, kernel):
        _, kk, c, f = ops.shape(kernel)
        folded = ops.reshape(ops.transpose(h, (1, 2, 0, 3)), (b, length, k * c))
        weights = ops.reshape(ops.transpose(kernel, (1, 2, 0, 3)), (kk, c, k * f))
        out = ops.reshape(ops.conv(folded, weights, padding="same"), (b, length, k, f))
        return ops.transpose(out, (2, 0, 1, 3))

    def vmapped(h, kernel):
        import jax

        return jax.vmap(lambda one, w: ops.conv(one, w, padding="same"))(h, kernel)

    def unrolled(h, kernel):  # one native convolution per run, unrolled in the graph
        return ops.stack([ops.conv(h[run], kernel[run], padding="same") for run in range(k)])

    convolve = {
        "engine": models._convolution,
        "grouped": grouped,
        "vmap": vmapped,
        "unrolled": unrolled,
    }[how]

    def loss(kernels, x):
        h = x
        for kernel in kernels:
            h = ops.relu(convolve(h, kernel))
        return ops.sum(h * h), ()

    def descend(kernels):  # a gradient step, so that steps depend on each other
        grads = backend.value_and_grad(loss)(kernels, x)[1]
        return [w - 1e-6 * g for w, g in zip(kernels, grads, strict=True)]

    # ten steps in one compiled loop, as the engine runs its steps
    steps = backend.compile(lambda kernels: ops.fori_loop(0, 10, lambda i, w: descend(w), kernels))
    ops.convert_to_numpy(steps(kernels)[0])  # compile
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        kernels = steps(kernels)
        ops.convert_to_numpy(kernels[0])
        times.append((time.perf_counter() - started) / 10)
    return {"times": times, "runs": k}


MEASUREMENTS = {
    ("MNIST-1D CNN", "Keras model.fit per config"): lambda a: measure_cnn_fit(a.fit_configs),
    ("MNIST-1D CNN", "engine, 32-run shard"): lambda a: measure_cnn_engine(a.repeats),
    ("MNIST-1D CNN", "engine (JAX), 32-run shard"): lambda a: measure_cnn_engine(a.repeats),
    ("digits MLP", "Keras model.fit per config"): lambda a: measure_mlp_fit(a.fit_configs),
    ("digits MLP", "engine, 64-run shard"): lambda a: measure_mlp_engine(a.repeats),
    ("convolutions", "windows and batched product (engine)"): lambda a: measure_step(
        a.repeats, "engine"
    ),
    ("convolutions", "one per run, unrolled"): lambda a: measure_step(a.repeats, "unrolled"),
    ("convolutions", "grouped convolution"): lambda a: measure_step(a.repeats, "grouped"),
    ("convolutions (JAX)", "windows and batched product (engine)"): lambda a: measure_step(
        a.repeats, "engine"
    ),
    ("convolutions (JAX)", "one per run, unrolled"): lambda a: measure_step(a.repeats, "unrolled"),
    ("convolutions (JAX)", "grouped convolution"): lambda a: measure_step(a.repeats, "grouped"),
    ("convolutions (JAX)", "jax.vmap of one run"): lambda a: measure_step(a.repeats, "vmap"),
}


def child(args):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["DECAYLAB_COMPILATION_CACHE"] = args.cache
    from keras import ops

    from decaylab import backend

    backend.set_threads(args.threads)
    backend.compile(lambda x: x + 1)(ops.convert_to_tensor(1.0))  # runtime start, not timed
    result = MEASUREMENTS[tuple(args.measure)](args)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-configs", type=int, default=2)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=RESULTS / "real_models.json")
    parser.add_argument(
        "--json-convolutions", type=Path, default=RESULTS / "real_models_convolutions.json"
    )
    args = parser.parse_args()
    if args.measure:
        return child(args)
    cache = tempfile.mkdtemp(prefix="decaylab-compilation-cache-")  # cold for every row
    results = {}
    for case, method in MEASUREMENTS:
        print(f"measuring {case}: {method} …", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--measure", case, method, "--cache", cache]
        command += ["--threads", str(args.threads), "--repeats", str(args.repeats)]
        command += ["--fit-configs", str(args.fit_configs)]
        backend = "jax" if "(JAX)" in case or "(JAX)" in method else "tensorflow"
        env = {**os.environ, "KERAS_BACKEND": backend}
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
        results[(case, method)] = json.loads(output.stdout.strip().splitlines()[-1])
    write_tables(args, results)


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.3g} s"


def _compiled(result) -> float:
    """The median of the calls after the first (which compiles), or of all when one."""
    return statistics.median(result["times"][1:] or result["times"])


def write_tables(args, results):
    """Print the two tables and write them as JSON (``--json`` and ``--json-convolutions``):
    the models against ``model.fit``, and the convolutions' step per backend and method."""
    from decaylab import docs_blocks

    rows = []
    for case, method in [m for m in MEASUREMENTS if not m[0].startswith("convolutions")]:
        r = results[(case, method)]
        first, later = r["times"][0], _compiled(r)
        speedup, compiled = "1×", "–"
        if "fit" in method:
            first = later = statistics.median(r["times"])  # one fit is one run, compile included
        else:
            per_fit = statistics.median(results[(case, "Keras model.fit per config")]["times"])
            speedup = f"{per_fit / (first / r['runs']):.3g}× / {per_fit / (later / r['runs']):.3g}×"
            compiled = f"{later:.3g}"
        accuracy = r.get("best_test_accuracy")
        epochs = (CNN if "CNN" in case else MLP)["epochs"]
        rows.append(
            (f"{case}, {epochs} epochs", method, f"{first:.3g}", compiled, r["runs"],
             f"{later / r['runs']:.3g}", speedup, f"{r['peak_mb']:.0f}",
             "" if accuracy is None else f"{accuracy:.3f}")
        )  # fmt: skip
    columns = ("case", "method", "first call, s", "compiled, s", "runs", "s per run",
               "speed-up per run vs fit (first / compiled)", "peak RSS, MiB",
               "best test accuracy")  # fmt: skip
    command = f"python benchmarks/real_models.py --repeats {args.repeats}"
    measured_on = (
        f"a {os.cpu_count()}-core machine, {args.threads} threads per process; `model.fit` per "
        f"configuration: {args.fit_configs} timed, median; the engine's first call compiles "
        "with a cold cache"
    )
    align = ["left", "left"] + ["right"] * 7
    print(docs_blocks.write_table(args.json, columns, rows, command, measured_on, align))
    methods = [m for c, m in MEASUREMENTS if c == "convolutions (JAX)"]
    rows = []
    for backend, case in (("TensorFlow", "convolutions"), ("JAX", "convolutions (JAX)")):
        engine = _compiled(results[(case, methods[0])])
        cells = [_duration(engine)]
        for method in methods[1:]:
            if (case, method) not in results:
                cells.append("–")
                continue
            step = _compiled(results[(case, method)])
            cells.append(f"{_duration(step)} ({step / engine:.0f}×)")
        rows.append((backend, *cells))
    columns = ("backend", *methods)
    print(docs_blocks.write_table(args.json_convolutions, columns, rows, command, measured_on))


if __name__ == "__main__":
    main()

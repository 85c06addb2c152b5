"""Where a step of the 32-run MNIST-1D CNN shard goes, against what this CPU can compute.

    python benchmarks/cnn_step_breakdown.py [--threads 2]

The CNN of ``benchmarks/real_models.py`` (Conv1D 16 → pool 2 → Conv1D 32 → pool 2 → dense 10,
kernel 5, batch 100, K = 32 runs), under TensorFlow with XLA, float32. Side by side, in one
process, each the median of repeated calls:

1. a large matrix product (2048³), the machine's attainable rate in GFLOP/s;
2. the second convolution's gradient step alone (windows gathered, one batched product, both
   gradients), its rate against (1);
3. the model's forward and backward pass in a compiled loop of 50 steps — both convolutions,
   only the first, and the first without pooling — in ms per step.

Prints the two tables and writes them to ``docs/performance/cnn_step_rates.json`` and
``cnn_step_model.json``, the sources of the performance page's tables.

``model.fit`` of one configuration takes about 8 ms per step here, so the shard is 15× faster per
run than ``fit`` (the issue's target) only at ≤ 32·8/15 ≈ 17 ms per step, engine included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

RESULTS = Path(__file__).resolve().parents[1] / "docs/performance"
K, B, LENGTH, WINDOW = 32, 100, 40, 5


def median_seconds(function, *args, repeats: int = 15) -> float:
    import tensorflow as tf

    tf.nest.map_structure(lambda t: t.numpy(), function(*args))  # compile
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), function(*args))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def large_product():
    import tensorflow as tf

    a, b = tf.random.normal((2048, 2048)), tf.random.normal((2048, 2048))
    seconds = median_seconds(tf.function(lambda a, b: a @ b, jit_compile=True), a, b)
    return seconds, 2 * 2048**3 / seconds / 1e9


def second_convolution_step():
    """Both gradients of Σy² through the engine's convolution (``models._convolution``) of
    (K, B, 20, 16) inputs by (K, 5, 16, 32) kernels."""
    import tensorflow as tf

    from decaylab import models

    h = tf.random.normal((K, B, LENGTH // 2, 16))
    kernel = tf.random.normal((K, WINDOW, 16, 32))

    @tf.function(jit_compile=True)
    def step(h, kernel):
        with tf.GradientTape() as tape:
            tape.watch([h, kernel])
            y = models._convolution(h, kernel)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [h, kernel])

    seconds = median_seconds(step, h, kernel)
    flops = 3 * 2 * K * B * (LENGTH // 2) * WINDOW * 16 * 32  # forward and two gradients
    return seconds, flops / seconds / 1e9


def model_loop(filters, pool, steps: int = 50) -> float:
    """Seconds per step of plain gradient descent on the model, ``steps`` steps per call."""
    import tensorflow as tf

    from decaylab import models

    spec = models.ModelSpec("cnn", filters=filters, kernel_size=WINDOW, pool=pool)
    params = models.init_params(spec, (LENGTH, 1), 10, range(K))
    params = [{n: tf.constant(v, tf.float32) for n, v in layer.items()} for layer in params]
    x = tf.random.normal((K, B, LENGTH, 1))
    y = tf.one_hot(tf.random.uniform((K, B), 0, 10, tf.int32), 10)

    def gradient(params):
        with tf.GradientTape() as tape:
            tape.watch(params)
            out, _ = models.forward(spec, params, None, x)
            loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(y, out))
        return tape.gradient(loss, params)

    @tf.function(jit_compile=True)
    def loop(params):
        def body(i, p):
            g = gradient(p)
            return i + 1, [{n: p[j][n] - 1e-4 * g[j][n] for n in p[j]} for j in range(len(p))]

        return tf.while_loop(lambda i, p: i < steps, body, (0, params))[1]

    return median_seconds(loop, params, repeats=7) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-rates", type=Path, default=RESULTS / "cnn_step_rates.json")
    parser.add_argument("--json-steps", type=Path, default=RESULTS / "cnn_step_model.json")
    args = parser.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    peak_seconds, peak = large_product()
    conv_seconds, conv_rate = second_convolution_step()
    from decaylab import docs_blocks

    command = "python benchmarks/cnn_step_breakdown.py"
    measured_on = f"a {os.cpu_count()}-core machine, {args.threads} threads, float32, XLA"
    rates = [
        ("product 2048³", f"{peak_seconds * 1e3:.1f}", f"{peak:.0f}", "1"),
        ("conv 2 gradient step (32 runs)", f"{conv_seconds * 1e3:.1f}", f"{conv_rate:.0f}",
         f"{conv_rate / peak:.2f}"),
    ]  # fmt: skip
    columns = ("what", "ms", "GFLOP/s", "× the large product's rate")
    print(docs_blocks.write_table(args.json_rates, columns, rates, command, measured_on))
    full = model_loop((16, 32), 2)
    steps = []
    for name, filters, pool in (
        ("conv 16 → pool → conv 32 → pool → dense (the benchmark's CNN)", (16, 32), 2),
        ("conv 16 → pool → dense", (16,), 2),
        ("conv 16 → dense (no pooling)", (16,), 1),
    ):
        seconds = full if filters == (16, 32) else model_loop(filters, pool)
        steps.append((name, f"{seconds * 1e3:.1f}", f"{seconds / full:.2f}"))
    columns = ("model, forward + backward, compiled loop", "ms per step", "× the full model")
    print(docs_blocks.write_table(args.json_steps, columns, steps, command, measured_on))


if __name__ == "__main__":
    main()

"""Does a run's training depend on which runs share its shard? Trains one run list whole, then
random subsets (buckets 2, 5 and 18 with padding), and a permutation, and lists every bit that
differs. Run by ``tests/test_store.py`` under both backends; ``python tests/k_invariance.py``
prints the mismatches per model as JSON under the backend ``KERAS_BACKEND`` names, and
``python tests/k_invariance.py --json docs/performance/k_invariance.json`` measures both
backends (the other in a child process) into the store page's table."""

import json
import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from decaylab import data, sources  # noqa: E402
from decaylab.engine import ShardConfig, train_shard  # noqa: E402
from decaylab.models import ModelSpec  # noqa: E402
from decaylab.shard import HISTORY_COLUMNS  # noqa: E402

MODELS = {
    "mlp": ModelSpec(kind="mlp", hidden=(8, 8), activation="tanh"),
    "batch-normalized mlp": ModelSpec(
        kind="mlp", hidden=(8, 8), activation="relu", normalization="batch"
    ),
    "cnn": ModelSpec(kind="cnn", filters=(4,), kernel_size=3, pool=2, hidden=(8,)),
}
RUNS = [
    {"learning_rate": lr, "regularization": kind, "strength": strength, "seed": seed}
    for lr in (0.03, 0.3)
    for kind, strength in (("l2", 1e-3), ("decoupled_lr", 1e-2), ("decoupled", 1e-3))
    for seed in (0, 1, 2)
]  # 18 runs
SIZES = (1, 5, 17)  # compiled for 2, 5 and 18 runs (the last padded with a copy)
CASES = [f"{model}, {optimizer}" for model in MODELS for optimizer in ("sgd", "adam")]


def parts(model: str):
    """Small digits for the CNN (8×8 images), moons for the MLPs."""
    if model == "cnn":
        split = data.split_dataset(sources.digits(), shuffle=True, seed=0, stratify=True)
        return data.subsample(split.train, 160), data.subsample(split.test, 80)
    split = data.split_dataset(data.moons(n=120, noise=0.2, seed=1), shuffle=True, seed=0)
    return split.train, split.test


def mismatches(case: str, epochs: int = 4) -> list[str]:
    """What differs, bit for bit, between each run trained in a subset or permutation of
    :data:`RUNS` and the same run trained in the whole list, for a case of :data:`CASES`."""
    model, optimizer = case.split(", ")
    train, test = parts(model)
    config = ShardConfig(model=MODELS[model], optimizer=optimizer, schedule="cosine",
                         epochs=epochs, batch_size=16, shuffle=True)  # fmt: skip
    runs = [{**run, "decay_steps": 40} for run in RUNS]
    whole = train_shard(train, test, config, runs, device="cpu")
    draw = random.Random(0)
    orders = [draw.sample(range(len(runs)), size) for size in SIZES]
    orders.append(draw.sample(range(len(runs)), len(runs)))
    found = []
    for order in orders:
        part = train_shard(train, test, config, [runs[i] for i in order], device="cpu")
        for i, (ours, theirs) in enumerate(zip(part.params, whole.params, strict=True)):
            for name in ours:
                if not np.array_equal(ours[name], theirs[name][order], equal_nan=True):
                    worst = np.nanmax(np.abs(ours[name] - theirs[name][order]))
                    found.append(f"{len(order)} runs: layer{i}/{name} (max |Δ| {worst:.3g})")
        ours = part.records
        theirs = whole.records[:, order]
        for c, column in enumerate(HISTORY_COLUMNS):
            if not np.array_equal(ours[..., c], theirs[..., c], equal_nan=True):
                scale = np.maximum(np.abs(theirs[..., c]), 1)  # relative where |value| > 1
                worst = np.nanmax(np.abs(ours[..., c] - theirs[..., c]) / scale)
                found.append(f"{len(order)} runs: history {column} (max |Δ| {worst:.3g})")
    return found


def largest(found: list[str], part: str) -> float:
    """The largest |Δ| among :func:`mismatches`' lines of ``part`` (``history``: the metrics;
    ``layer``: the parameters), 0 when there are none."""
    return max(
        [float(line.rsplit("|Δ| ", 1)[1].rstrip(")")) for line in found
         if line.split(": ", 1)[1].startswith(part)],
        default=0.0,
    )  # fmt: skip


def write_table(path: str) -> None:
    """Both backends' mismatches as a measured table (:func:`decaylab.docs_blocks.write_table`)."""
    import subprocess
    import sys

    import keras

    from decaylab import docs_blocks, provenance

    here = keras.backend.backend()
    found = {here: {case: mismatches(case) for case in CASES}}
    other = {"tensorflow": "jax", "jax": "tensorflow"}[here]
    env = {**os.environ, "KERAS_BACKEND": other, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True,
                          check=True)  # fmt: skip
    found[other] = json.loads(done.stdout.strip().splitlines()[-1])
    rows = []
    for backend in ("tensorflow", "jax"):
        for case, lines in found[backend].items():
            sizes = [f"{largest(lines, part):.1e}".replace("0.0e+00", "0")
                     for part in ("history", "layer")]  # fmt: skip
            rows.append([backend, case, "yes" if not lines else "no", *sizes])
    print(docs_blocks.write_table(
        path, ["backend", "model, optimizer", "bit-identical",
               "largest relative difference of a metric", "largest difference of a parameter"],
        rows,
        "python tests/k_invariance.py --json docs/performance/k_invariance.json",
        f"{provenance.cpu_model()}, CPU", align=["left", "left", "left", "right", "right"],
    ))  # fmt: skip


if __name__ == "__main__":
    import sys

    if "--json" in sys.argv:
        write_table(sys.argv[sys.argv.index("--json") + 1])
    else:
        print(json.dumps({case: mismatches(case) for case in CASES}))

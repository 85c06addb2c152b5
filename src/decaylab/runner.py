"""Run a shard described as plain data (the workflow's ``params``) through the engine.

The engine is imported only inside :func:`train`, so that everything else here (labels,
curves, progress) loads without a Keras backend.
"""

from __future__ import annotations

import datetime
import json
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from decaylab import data, evaluate, files, grid, models, provenance, registry
from decaylab import store as store_module
from decaylab.data import CLASSIFICATION, Dataset
from decaylab.results import assemble
from decaylab.shard import ShardConfig, resolve_runs, updates_per_epoch
from decaylab.store import RunStore

LABELS = ["experiment", "shard", "dataset", "model", "optimizer", "schedule", "regularization"]
METRICS = [
    "validation_mse",
    "validation_accuracy",
    "validation_loss",
    "test_mse",
    "test_accuracy",
    "test_loss",
    "train_loss",
    "weight_norm",
    "final_learning_rate",
    "cumulative_decay",
    "norm_drift",
    "angular_update",
    "diverged",
    "diverged_epoch",
    "kernel",
    "bias",
]
CURVE_POINTS = 200


def model_spec(shard: dict) -> models.ModelSpec:
    return models.spec_of(shard["model"])


def model_label(spec: models.ModelSpec) -> str:
    """``linear``, ``polynomial(9)``, ``mlp(32x32, relu)``, ``cnn(16x32/k5/p2, 32, relu, batch
    norm)``."""
    if spec.kind == "polynomial":
        return f"polynomial({spec.degree})"
    norm = [] if spec.normalization == "none" else [f"{spec.normalization} norm"]
    norm += [] if spec.affine else ["no affine"]
    norm += ["fixed head"] if spec.fixed_head else []
    hidden = "x".join(map(str, spec.hidden))
    if spec.kind == "mlp":
        return f"mlp({', '.join([hidden, spec.activation, *norm])})"
    if spec.kind == "cnn":
        convolutions = f"{'x'.join(map(str, spec.filters))}/k{spec.kernel_size}/p{spec.pool}"
        layers = [convolutions, *([hidden] if hidden else []), spec.activation, *norm]
        return f"cnn({', '.join(layers)})"
    return spec.kind


def shard_config(shard: dict) -> ShardConfig:
    """The engine's :class:`~decaylab.shard.ShardConfig` of a shard."""
    options = shard.get("schedule_options", {})
    return ShardConfig(
        model=model_spec(shard),
        optimizer=shard["optimizer"],
        nesterov=shard.get("nesterov", False),
        staircase=options.get("staircase", False),
        cycle=options.get("cycle", False),
        boundaries=tuple(options.get("boundaries", ())),
        factors=tuple(options.get("factors", ())),
        epochs=shard["epochs"],
        batch_size=shard["batch_size"],
        shuffle=shard.get("shuffle", False),
        history_stride=shard.get("history_stride", 1),
    )


def labels(shard: dict, train_rows: int | None = None) -> pd.DataFrame:
    """The columns that name the runs of a shard: labels, their own settings, epochs, batch,
    and given ``train_rows``: the training-set size and the updates per epoch
    ``M = ⌈train_size / batch_size⌉``."""
    frame = pd.DataFrame(shard["runs"])
    frame.insert(0, "run", np.arange(len(frame)))
    shared = {
        **{key: shard.get(key) for key in LABELS if key not in frame},
        "model": model_label(model_spec(shard)),
    }
    for key, value in shared.items():
        frame[key] = value
    frame["epochs"] = shard["epochs"]
    frame["batch_size"] = shard["batch_size"]
    if train_rows is not None:
        frame["train_size"] = train_rows
        frame["updates_per_epoch"] = updates_per_epoch(train_rows, shard["batch_size"])
    first = ["run", *LABELS]
    return frame[first + [c for c in frame if c not in first]]


class ProgressLine:
    """Writes a progress line to ``streams`` at most every ``interval`` seconds, and the last."""

    def __init__(self, name: str, streams=(sys.stderr,), interval: float = 10.0):
        self.name, self.streams, self.interval = name, streams, interval
        self.last = -float("inf")

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if now - self.last < self.interval and progress.epoch < progress.epochs:
            return
        self.last = now
        eta = "" if np.isnan(progress.eta) else f", ETA {progress.eta:.0f} s"
        resumed = f" (resumed at epoch {progress.resumed_from})" if progress.resumed_from else ""
        line = (
            f"{self.name}: epoch {progress.epoch}/{progress.epochs}{resumed}, "
            f"{progress.diverged} of {progress.runs} runs diverged, best mini-batch loss "
            f"{progress.train_loss:.4g} (mean of the last chunk's), {progress.elapsed:.1f} s{eta}"
        )
        for stream in self.streams:
            print(line, file=stream, flush=True)


STOP_RECORDS = Path(".snakemake/decaylab/stopped")
"""Where a training job stopped on request records it, for the end-of-run summary."""


def record_stop(name: str, epoch: int, epochs: int, checkpoint, log) -> None:
    """Record that shard ``name`` (``EXPERIMENT/SHARD``) stopped on request after ``epoch``."""
    record = {"shard": name, "epoch": epoch, "epochs": epochs, "checkpoint": str(checkpoint),
              "log": str(log)}  # fmt: skip
    STOP_RECORDS.mkdir(parents=True, exist_ok=True)
    with files.atomic(STOP_RECORDS / f"{name.replace('/', '__')}.json") as temporary:
        temporary.write_text(json.dumps(record))


def stopped_shards() -> list[dict]:
    """The records of :func:`record_stop`, by shard."""
    return [json.loads(p.read_text()) for p in sorted(STOP_RECORDS.glob("*.json"))]


@contextmanager
def stop_on_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Within the block, SIGINT and SIGTERM only ask to stop: yields ``should_stop()``.

    The engine checks it between chunks (a second or two apart), writes its checkpoint and
    raises :class:`~decaylab.engine.Interrupted`.
    """
    received = []
    previous = {s: signal.signal(s, lambda number, frame: received.append(number)) for s in signals}
    try:
        yield lambda: bool(received)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def train(
    shard: dict,
    train_set: Dataset,
    test_set: Dataset,
    threads: int | None = None,
    store: RunStore | None = None,
    announce=None,
    **engine_options,
):
    """Train a shard; its runs table carries its labels, settings and final metrics, each run's
    key in the store (``run_key``), the batch it trained in (``batch``) and the key of the
    provenance it was trained under (``provenance``: :func:`decaylab.provenance.record`), and its
    equilibrium diagnostics (:func:`diagnostics`).

    With a ``store`` (:class:`~decaylab.store.RunStore`), only the runs it lacks are trained, in
    one batch, and stored; the shard's results are assembled from the store, in the shard's
    order. ``announce`` (a callable) gets one line saying how many runs were reused and how many
    are trained. ``result.provenance``: ``{"records": {key: record}, "batches": {batch: {…}},
    "job": {reused, trained}}``.

    A shard with ``train_size`` trains on that many rows of ``train_set``
    (:func:`decaylab.data.subsample`, seed 0: the same rows for every run). A run given a derived
    axis (``registry.DERIVED_STRENGTHS``) trains with the strength derived from it
    (:func:`decaylab.grid.resolve_strength`), and both are in its table; a ``wsd`` run without a
    horizon anneals over its whole training (:func:`decaylab.grid.resolve_horizon`).
    ``engine_options`` go to :func:`decaylab.engine.train_shard` (validation, checkpoint,
    progress, stop).
    """
    from decaylab import backend  # loads the Keras backend

    started = time.perf_counter()
    if shard.get("train_size") is not None:
        train_set = data.subsample(train_set, shard["train_size"])
    rows = len(train_set.y)
    updates = updates_per_epoch(rows, shard["batch_size"])
    shard, plain = _resolved(shard, updates)
    config = shard_config(shard)
    resolved = resolve_runs(config, plain)
    validation = engine_options.get("validation")
    device = backend.device_description(backend.resolve_device(shard.get("device", "cpu")))
    keys, entries, missing = _look_up(config, resolved, (train_set, validation, test_set),
                                      device, store)  # fmt: skip
    if announce is not None:
        announce(f"{len(keys) - len(missing)} of {len(keys)} runs reused from the store, "
                 f"{len(missing)} to train")  # fmt: skip
    trained = None
    if missing:
        trained = _train_batch(
            shard, missing, keys, (train_set, test_set), config, plain, threads, store,
            engine_options,
        )  # fmt: skip
        entries |= trained.entries
    result = assemble(
        config, resolved, [entries[key] for key in keys], train_set.task, validation is not None
    )
    result.runs = result.runs.assign(**diagnostics(result, config, updates))
    result.device, result.seconds = device, time.perf_counter() - started
    result.resumed_from = trained.resumed_from if trained else 0
    _label(result, shard, rows, keys, [entries[key].meta for key in keys], len(missing))
    return result


def _resolved(shard: dict, updates: int) -> tuple[dict, list[dict]]:
    """``shard`` with each run's derived strength and ``wsd`` horizon filled in (``updates`` per
    epoch), and its runs without the derived axes: what the engine trains."""
    horizon = shard["epochs"] * updates
    runs = [grid.resolve_horizon(grid.resolve_strength(r, updates), horizon) for r in shard["runs"]]
    plain = [{k: v for k, v in r.items() if k not in registry.DERIVED_STRENGTHS} for r in runs]
    return {**shard, "runs": runs}, plain


def diagnostics(result, config: ShardConfig, steps_per_epoch: int) -> dict:
    """The equilibrium diagnostics of ``result``'s runs (:mod:`decaylab.equilibrium`): the
    cumulative decay D, and over the last fifth of the constant-rate phase the weight norm's
    relative drift and the root mean square angular update per step."""
    from decaylab import equilibrium  # with the inference it pulls in: not for planning

    runs, training_steps = result.runs, config.epochs * steps_per_epoch
    start, end = equilibrium.constant_phase(runs, training_steps)
    return {
        "cumulative_decay": equilibrium.cumulative_decay(
            runs, config.optimizer, training_steps, steps_per_epoch, config.schedule_options
        ),
        **equilibrium.window_diagnostics(result.records, start, end, steps_per_epoch),
    }


def _look_up(config, resolved, parts, device: str, store):
    """``(keys, entries, missing)``: each run's key, the entries ``store`` holds by key, and the
    indices of the runs to train (a run listed twice trains once)."""
    from decaylab.engine import NUMERICS_VERSION

    digest = store_module.data_digest(*parts)
    keys = store_module.run_keys(
        config, resolved, digest, NUMERICS_VERSION, device, parts[1] is not None
    )
    entries = {key: store.get(key) for key in keys} if store else {}
    entries = {key: entry for key, entry in entries.items() if entry is not None}
    missing = [i for i, key in enumerate(keys) if key not in entries]
    return keys, entries, [i for i in missing if keys.index(keys[i]) == i]


def _label(result, shard: dict, rows: int, keys: list[str], metas: list[dict], trained: int):
    """The shard's labels on ``result``'s tables, each run's key, batch, device and provenance
    key, and the shard's provenance (``result.provenance``) from the runs' entries, with the
    job's count of runs reused and ``trained``."""
    result.reused = len(keys) - trained
    named = labels(shard, rows)
    result.runs = pd.concat([named, result.runs[[c for c in METRICS if c in result.runs]]], axis=1)
    result.runs["device"] = [meta["provenance"]["device"] for meta in metas]
    result.runs["provenance"] = [provenance.key(meta["provenance"]) for meta in metas]
    result.runs["batch"] = [meta["batch"] for meta in metas]
    result.runs["run_key"] = keys
    result.provenance = {
        "records": {provenance.key(m["provenance"]): m["provenance"] for m in metas},
        "batches": {
            m["batch"]: {"provenance": provenance.key(m["provenance"]),
                         "trained_at": m["trained_at"], "runs": m["batch_runs"]}
            for m in metas
        },
        "job": {"reused": result.reused, "trained": trained},
    }  # fmt: skip
    result.history = named.merge(result.history, on="run")


@dataclass
class _Batch:
    """The entries of a batch just trained, by key, and the epoch its training resumed from."""

    entries: dict
    resumed_from: int


def _train_batch(shard, missing, keys, parts, config, plain, threads, store,
                 engine_options) -> _Batch:  # fmt: skip
    """Train the runs ``missing`` (indices into the shard's runs) in one batch, store them and
    record the batch's spec; their entries by key."""
    from decaylab import backend
    from decaylab.engine import train_shard

    git = provenance.git_state(provenance.SOURCE)  # the code the runs start from
    trained_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    result = train_shard(
        *parts,
        config,
        [plain[i] for i in missing],
        threads=threads,
        device=shard.get("device", "cpu"),
        **engine_options,
    )
    record = provenance.record(backend.NAME, result.device, config.dtype, threads, git)
    batch = store_module.digest_of([keys[i] for i in missing])[:16]  # the same runs, the same id
    meta = {"batch": batch, "batch_runs": len(missing), "trained_at": trained_at,
            "provenance": record}  # fmt: skip
    entries = store_module.entries_of(result, [keys[i] for i in missing], meta)
    if store is not None:
        store.put_batch(batch, {**shard, "runs": [shard["runs"][i] for i in missing]})
        for key, entry in entries.items():
            store.put(key, entry)
    return _Batch(entries, result.resumed_from)


def curves(shard: dict, params, train_set: Dataset, test_set: Dataset) -> pd.DataFrame:
    """Predictions of every run on a grid over the data's x range (1-d regression only)."""
    if (
        test_set.task == CLASSIFICATION
        or train_set.x.shape[1] != 1
        or shard["model"]["kind"] == "cnn"
    ):
        return pd.DataFrame(columns=["run", "x", "prediction"])
    spec = model_spec(shard)
    x_all = np.concatenate([train_set.x, test_set.x])
    grid = np.linspace(x_all.min(), x_all.max(), CURVE_POINTS)[:, None]
    predictions = evaluate.predict(spec, params, grid)
    k = predictions.shape[0]
    frame = pd.DataFrame(
        {
            "run": np.repeat(np.arange(k), CURVE_POINTS),
            "x": np.tile(grid[:, 0], k),
            "prediction": predictions[:, :, 0].ravel(),
        }
    )
    return labels(shard).merge(frame, on="run")

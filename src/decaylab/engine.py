"""The engine: trains a shard of K runs in compiled chunks of epochs, and hands back its results.

A *shard* is a set of runs that share everything that changes the computation's shapes or the
optimizer's state (data, model, optimizer, epochs, batch size, shuffling, dtype): a
:class:`~decaylab.shard.ShardConfig`. Everything else is per run, a leading axis K of every
tensor (:mod:`decaylab.chunk`, which also states the numeric conventions). K is padded up to a
bucket (:func:`decaylab.shard.bucket`) with copies of the last run, so that nearby shard sizes
share one compiled chunk; the copies are left out of the results. The number of epochs is an
argument of the compiled chunk, so that shards of other lengths share it too.

Training runs in *chunks*: one compiled call trains up to ``capacity`` epochs; between calls,
this driver reports progress, honours a stop request and writes an atomic checkpoint from which
a later call resumes bit-identically. The mini-batch order is drawn per chunk, so memory does
not grow with the number of epochs. The results (:mod:`decaylab.results`) are one row per run
and a tidy history.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from decaylab import backend  # first: it starts Keras, with the native libraries' logs filtered

# isort: split
from keras import ops, tree

from decaylab import files, models
from decaylab.chunk import Data, Plan, TrainingState, compiled_chunk, make_optimizer
from decaylab.dataset import CLASSIFICATION, Dataset
from decaylab.results import ShardResult, history_table, runs_table
from decaylab.shard import HISTORY_COLUMNS, Layout, Runs, ShardConfig, resolve_runs

CHECKPOINT_FORMAT = 4
NUMERICS_VERSION = 2
"""Bumped by hand with every change that alters a trained run's numbers (an operation's order,
a default, an initializer): it is part of every key of the store of trained runs
(:mod:`decaylab.store`), so that runs trained before the change are trained again."""


@dataclass(frozen=True)
class Progress:
    """Where a shard stands after a chunk that trained.

    ``train_loss`` is the lowest, over the runs still training, of a run's mean mini-batch data
    loss (cross-entropy or ``½·MSE``, without the penalty) over the chunk just trained.
    """

    epoch: int
    epochs: int
    diverged: int
    runs: int
    train_loss: float
    elapsed: float
    resumed_from: int
    seconds_per_epoch: float

    @property
    def eta(self) -> float:
        """Seconds left at the pace measured after the first chunk (which compiles); NaN before."""
        return self.seconds_per_epoch * (self.epochs - self.epoch)


class Interrupted(Exception):
    """Training stopped on request after ``epoch`` epochs (a checkpoint was written if asked)."""

    def __init__(self, epoch: int, checkpoint: Path | None):
        where = f"; checkpoint {checkpoint}" if checkpoint else ""
        super().__init__(f"training stopped on request after epoch {epoch}{where}")
        self.epoch = epoch
        self.checkpoint = checkpoint


def train_shard(
    train: Dataset,
    test: Dataset,
    config: ShardConfig,
    runs,
    threads: int | None = None,
    device: str = "auto",
    *,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_seconds: float = 60.0,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk_epochs: int | None = None,
    target_chunk_seconds: float = 1.5,
    validation: Dataset | None = None,
) -> ShardResult:
    """Train every run of ``runs`` (a list of dicts or a DataFrame of per-run values) on
    ``train``, with the settings they share, ``config``.

    ``test`` and ``validation`` (optional) are evaluated at every recorded epoch.

    ``threads`` sets the backend's CPU threads; ``device`` is ``cpu``, ``gpu`` (an error without
    a GPU) or ``auto``. Training runs in chunks of about ``target_chunk_seconds`` (or exactly
    ``chunk_epochs`` epochs); after each, ``on_progress`` gets a :class:`Progress`,
    ``should_stop()`` may end training with :class:`Interrupted`, and every
    ``checkpoint_seconds`` the state is written atomically to ``checkpoint``. A call with the
    same arguments finds that checkpoint, resumes from it and ends bit-identical to an
    uninterrupted run; the checkpoint is removed when the shard finishes.
    """
    if threads is not None:
        backend.set_threads(int(threads))
    resolved = resolve_runs(config, runs)
    arrays = _prepared_arrays(config, train, test, validation)
    placed_on = backend.resolve_device(device)
    layout = Layout.of(config, len(resolved), len(train.y))
    plan = Plan.of(config, resolved, layout, train.task, validation is not None, placed_on)
    padded = resolved.padded_to(layout.padded_runs)
    loop = _ChunkLoop(
        plan, config, resolved, checkpoint, checkpoint_seconds, on_progress, should_stop
    )
    fingerprint = _fingerprint(config, resolved, arrays)
    with backend.device_scope(placed_on):
        state, tensors = _initial_state(plan, config.dtype, padded, arrays)
        state, epoch, records = loop.resume(fingerprint, state)
        state, records = loop.run(
            state, tensors, epoch, records, fingerprint, chunk_epochs, target_chunk_seconds
        )
        result = _result(config, resolved, plan, loop, state, records)
    if loop.checkpoint is not None:
        loop.checkpoint.unlink(missing_ok=True)
    return result


def _result(config: ShardConfig, runs: Runs, plan: Plan, loop, state, records) -> ShardResult:
    """The results of the real runs (the padding runs left out): their parameters with the
    normalization statistics, their runs table from the last record, their history."""
    k = len(runs)
    merged = models.merge_statistics(state.params, state.statistics)
    params = tree.map_structure(lambda p: ops.convert_to_numpy(p)[:k], merged)
    diverged_epoch = ops.convert_to_numpy(state.diverged_epoch)[:k]
    history = np.stack(records)[:, :k]  # (records, K, columns)
    return ShardResult(
        runs=runs_table(
            config, runs, params, history[-1], diverged_epoch, plan.task, plan.has_validation
        ),
        history=history_table(history),
        params=params,
        device=backend.device_description(plan.device),
        seconds=time.perf_counter() - loop.started,
        resumed_from=loop.resumed_from,
        records=history,
        diverged_epoch=diverged_epoch,
    )


def _prepared_arrays(config: ShardConfig, train: Dataset, test: Dataset, validation):
    """Features and targets of the training, held-out (validation, else test) and test parts,
    in the shard's dtype, after checking that the parts fit together."""
    n_train = len(train.y)
    if config.batch_size > n_train:
        raise ValueError(
            f"batch_size {config.batch_size} is larger than the training set ({n_train} rows)"
        )
    parts = [train, test] + ([validation] if validation is not None else [])
    if any(part.task != train.task for part in parts):
        raise ValueError("the training, validation and test sets pose different tasks")
    n_classes = max(part.n_classes for part in parts)
    held_out = validation if validation is not None else test
    return tuple(
        array
        for part in (train, held_out, test)
        for array in (
            models.features(config.model, part.x, train.input_shape).astype(config.dtype),
            _targets(part, config.dtype, n_classes),
        )
    )


def _initial_state(plan: Plan, dtype: str, runs: Runs, arrays):
    """The untrained state of every run, and the chunk's other tensor arguments."""
    spec = plan.model
    seeds = runs.hp["seed"].astype(np.int64)
    hp = {name: ops.convert_to_tensor(v.astype(dtype)) for name, v in runs.hp.items()}
    kinds = ("schedule", "regularization")
    kind_indices = {which: ops.convert_to_tensor(runs.indices(which)) for which in kinds}
    data = Data(*(ops.convert_to_tensor(a) for a in arrays))
    initial = models.init_params(spec, arrays[0].shape[1:], arrays[1].shape[1], seeds)
    initial = tree.map_structure(lambda p: ops.convert_to_tensor(p.astype(dtype)), initial)
    params, statistics = models.split_statistics(initial)
    optimizer = make_optimizer(plan, models.decay_mask(params))
    state = TrainingState(
        params,
        optimizer.init(params, hp),
        ops.ones((len(runs),), dtype="bool"),
        ops.full((len(runs),), -1, dtype="int32"),
        statistics,
        ops.zeros((len(runs), 2), dtype=dtype),
    )
    mask = ops.convert_to_tensor(plan.layout.row_mask().astype(dtype))
    return state, (hp, kind_indices, data, mask)


class _ChunkLoop:
    """Calls the compiled chunk until the shard is trained, with what happens between calls:
    the mini-batch order of the next chunk, progress, stop requests and checkpoints."""

    def __init__(
        self, plan, config, runs: Runs, checkpoint, checkpoint_seconds, on_progress, should_stop
    ):
        self.plan, self.config, self.runs = plan, config, runs
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.checkpoint_seconds = checkpoint_seconds
        self.on_progress, self.should_stop = on_progress, should_stop
        self.rngs = [np.random.RandomState(int(seed)) for seed in runs.hp["seed"]]
        self.started = time.perf_counter()
        self.resumed_from = 0

    def resume(self, fingerprint, state):
        """``(state, epoch, records)`` to start from: the checkpoint's, if it is this shard's,
        with the mini-batch generators where it left them; else ``(state, 0, [])``."""
        restored = None
        if self.checkpoint is not None:
            restored = _load_checkpoint(self.checkpoint, fingerprint, state)
        if restored is None:
            return state, 0, []
        state, epoch, records, rng_states = restored
        for rng, rng_state in zip(self.rngs, rng_states, strict=True):
            rng.set_state(rng_state)
        self.resumed_from = epoch
        return state, epoch, records

    def run(self, state, tensors, epoch, records, fingerprint, chunk_epochs, target_seconds):
        """Train from ``epoch`` to the end; returns the final state and every record."""
        plan, config, layout = self.plan, self.config, self.plan.layout
        hp, kind_indices, data, mask = tensors
        chunk = compiled_chunk(plan)
        last_checkpoint = time.monotonic()
        n_epochs = chunk_epochs or 1
        calls, pace_from = 0, None  # (time, epoch) at the end of the first chunk
        while epoch <= config.epochs:
            n_epochs = min(n_epochs, layout.capacity, config.epochs + 1 - epoch)
            order = layout.batch_order(epoch, n_epochs, config.epochs, self.rngs)
            call_started = time.perf_counter()
            state, chunk_records, loss_sums = chunk(
                state,
                hp,
                kind_indices,
                data,
                ops.convert_to_tensor(order),
                mask,
                *(ops.convert_to_tensor(np.int32(n)) for n in (epoch, n_epochs, config.epochs)),
            )
            chunk_records = ops.convert_to_numpy(chunk_records)
            seconds = time.perf_counter() - call_started
            filled = ~np.isnan(chunk_records[:, 0, HISTORY_COLUMNS.index("epoch")])
            records.extend(chunk_records[filled])
            trained_epochs = max(0, min(n_epochs, config.epochs - epoch))
            epoch += n_epochs
            calls += 1
            trained = min(epoch, config.epochs)
            now = time.perf_counter()
            pace = np.nan
            if pace_from is None:
                pace_from = (now, trained)
            elif trained > pace_from[1]:
                pace = (now - pace_from[0]) / (trained - pace_from[1])
            if self.on_progress is not None and trained_epochs:
                self._report(state, loss_sums, trained_epochs, trained, pace, now)
            finished = epoch > config.epochs
            stop = not finished and self.should_stop is not None and self.should_stop()
            due = time.monotonic() - last_checkpoint >= self.checkpoint_seconds
            if self.checkpoint and not finished and (stop or due):
                _save_checkpoint(self.checkpoint, fingerprint, state, epoch, records, self.rngs)
                last_checkpoint = time.monotonic()
            if stop:
                raise Interrupted(trained, self.checkpoint)
            if chunk_epochs is None:
                n_epochs = _next_chunk(n_epochs, seconds, calls, layout.capacity, target_seconds)
        return state, records

    def _report(self, state, loss_sums, trained_epochs, trained, pace, now):
        """A :class:`Progress` to ``on_progress``: the real runs' losses, not the padding's."""
        k = len(self.runs)
        active = ops.convert_to_numpy(state.active)[:k]
        updates = trained_epochs * self.plan.layout.updates_per_epoch
        losses = ops.convert_to_numpy(loss_sums)[:k] / updates
        losses = losses[active & np.isfinite(losses)]
        self.on_progress(
            Progress(
                trained,
                self.config.epochs,
                int((~active).sum()),
                k,
                float(losses.min()) if len(losses) else np.nan,
                now - self.started,
                self.resumed_from,
                pace,
            )
        )


def _next_chunk(n_epochs, seconds, calls, capacity, target_seconds):
    """Epochs for the next chunk: about ``target_seconds`` at the pace just measured.

    The first call includes compilation, so the second is a short probe.
    """
    if calls == 1:
        return min(capacity, 2)
    per_epoch = max(seconds / n_epochs, 1e-6)
    return int(np.clip(target_seconds / per_epoch, 1, min(capacity, 8 * n_epochs)))


def _targets(dataset: Dataset, dtype: str, n_classes: int) -> np.ndarray:
    if dataset.task == CLASSIFICATION:
        return np.eye(n_classes, dtype=dtype)[dataset.y]
    return dataset.y.astype(dtype)


def _fingerprint(config: ShardConfig, resolved: Runs, arrays) -> str:
    """A digest of everything a checkpoint's state depends on."""
    digest = hashlib.sha256()
    settings = {
        "format": CHECKPOINT_FORMAT,
        "backend": backend.NAME,
        "config": asdict(config),
        "schedule": resolved.schedule,
        "regularization": resolved.regularization,
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for name in sorted(resolved.hp):
        digest.update(name.encode() + np.ascontiguousarray(resolved.hp[name], np.float64).tobytes())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _save_checkpoint(path: Path, fingerprint, state, epoch, records, rngs) -> None:
    """Write the state after ``epoch`` epochs atomically (a temporary file, then a rename)."""
    leaves = [ops.convert_to_numpy(leaf) for leaf in tree.flatten(state)]
    rng_states = [rng.get_state() for rng in rngs]
    arrays = {f"leaf{i}": leaf for i, leaf in enumerate(leaves)}
    if rng_states:
        arrays["rng_keys"] = np.stack([s[1] for s in rng_states])
        arrays["rng_positions"] = np.array([s[2] for s in rng_states])
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic(path) as temporary, open(temporary, "wb") as stream:
        np.savez(
            stream,
            fingerprint=np.array(fingerprint),
            epoch=np.array(epoch),
            records=np.stack(records) if records else np.zeros((0, 0, 0)),
            **arrays,
        )
        stream.flush()
        os.fsync(stream.fileno())


def _load_checkpoint(path: Path, fingerprint, template):
    """``(state, epoch, records, rng_states)`` from ``path`` if it is this shard's, else None.

    A checkpoint that cannot be read whole — truncated, a flipped bit (the archive's CRC), a
    value of another shape — is never resumed from: a warning names it, and training starts
    from the beginning (the file is replaced at the next checkpoint).
    """
    if not path.exists():
        return None
    expected = tree.flatten(template)
    try:
        with np.load(path) as stored:
            if str(stored["fingerprint"]) != fingerprint:
                return None
            leaves = [stored[f"leaf{i}"] for i in range(len(expected))]
            epoch = int(stored["epoch"])
            records = list(stored["records"])
            rng_states = [
                ("MT19937", keys, int(position), 0, 0.0)
                for keys, position in zip(
                    stored.get("rng_keys", []), stored.get("rng_positions", []), strict=True
                )
            ]
        for leaf, like in zip(leaves, expected, strict=True):
            if tuple(leaf.shape) != tuple(ops.shape(like)):
                raise ValueError(f"a value of shape {leaf.shape}, not {tuple(ops.shape(like))}")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(
            f"checkpoint {path} is unreadable ({type(error).__name__}: {error}); training "
            "starts from the beginning",
            stacklevel=2,
        )
        return None
    state = tree.pack_sequence_as(template, [ops.convert_to_tensor(leaf) for leaf in leaves])
    return state, epoch, records, rng_states

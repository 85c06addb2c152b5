"""A training job's peak memory, estimated from its shard and its data set's facts (no backend),
and the blocks a shard too big for one job is split into.

A shard whose estimate exceeds the per-job cap (``job_memory_gb`` in the config, by default
:data:`MEMORY_SHARE` of the machine's memory), or which has more than :data:`MAX_BLOCK_RUNS`
runs, is split into blocks of consecutive runs (:func:`blocks`), each its own training job
(``SHARD_block1of3`` …); the checks refuse only a run that alone exceeds the cap (unless
``allow_large: true``). The workflow asks a cluster for each job's estimate with headroom
(``workflow/rules/common.smk``). ``benchmarks/shard_memory.py`` measures it.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from decaylab import data_facts, grid, models
from decaylab.data_facts import DataFacts

BACKEND_FOOTPRINT = 2**30
"""Resident memory of a training process besides its shard's arrays: Python, the backend and
the compiled chunk (TensorFlow's, measured on a two-run shard; JAX's is smaller)."""
HISTORY_ROW_BYTES = 300
"""Bytes per run and record of the history: the float32 record, the tidy table and its labelled
copy (about 35 eight-byte columns), measured on a 1.2-million-row history."""
MEMORY_SHARE = 0.5
"""By default a training job may use at most this share of the machine's memory, by estimate."""
MAX_BLOCK_RUNS = 20_000
"""Most runs one training job trains (a block of a bigger shard)."""


def shard_peak(shard, dataset: DataFacts) -> float:
    """The training job's peak resident memory in bytes, estimated::

        BACKEND_FOOTPRINT + 4·K·(5·P + 3·a·B) + 4·a·N + HISTORY_ROW_BYTES·K·(epochs / stride + 2)

    K runs in float32; P parameters per run, held five times (values, gradient, optimizer
    state, the update and the copy kept for a diverging run); a the activations per row (the
    input and every layer's output, with a convolution's patches and its pooled output), held
    for every run's mini-batch of B rows three times (forward, backward, the update's
    temporaries), and for one run's evaluation of the largest part, N rows (evaluation runs one
    run and one part at a time). The last term is the history: its records, and the labelled
    table written from them. Within a
    factor of 2 of the measured peak on six shard shapes (``benchmarks/shard_memory.py``).
    """
    spec = models.spec_of(shard.settings["model"])
    input_shape = dataset.input_shape if spec.kind == "cnn" else (dataset.n_features * spec.degree,)
    per_row = int(np.prod(input_shape))
    positions = int(np.prod(input_shape[:-1])) if spec.kind == "cnn" else 1
    n_params = 0
    for layer in models.layers(spec, input_shape, dataset.n_outputs):
        n_params += int(np.prod(layer.kernel_shape)) + 2 * layer.fan_out
        if layer.window:
            per_row += positions * (int(np.prod(layer.kernel_shape[:-1])) + layer.fan_out)
            positions = max(1, positions // layer.pool ** len(layer.window))
        per_row += positions * layer.fan_out if layer.window else layer.fan_out
    test_rows = dataset.n_rows - dataset.training_rows - dataset.validation_rows
    largest_part = max(dataset.training_rows, dataset.validation_rows, test_rows)
    k = len(shard.runs)
    records = shard.settings["epochs"] // shard.settings.get("history_stride", 1) + 2
    batch = shard.settings["batch_size"]
    return (
        BACKEND_FOOTPRINT
        + 4.0 * k * (5 * n_params + 3 * per_row * batch)
        + 4.0 * per_row * largest_part
        + HISTORY_ROW_BYTES * k * records
    )


def machine_bytes() -> int | None:
    """The machine's physical memory in bytes (pages × page size); None where it cannot say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def job_cap(config: dict) -> float | None:
    """The most bytes one training job may use: ``job_memory_gb``, else :data:`MEMORY_SHARE`
    of :func:`machine_bytes` (None where neither is known)."""
    if config.get("job_memory_gb") is not None:
        return float(config["job_memory_gb"]) * 2**30
    available = machine_bytes()
    return MEMORY_SHARE * available if available else None


def blocks(shard, dataset: DataFacts, cap: float | None) -> list:
    """``shard`` as the fewest blocks of consecutive runs, of sizes differing by at most one,
    whose :func:`shard_peak` is within ``cap`` bytes and whose runs are at most
    :data:`MAX_BLOCK_RUNS`; ``shard`` itself when it is one block. Block i of n is named
    ``SHARD_blockiofn``; a run alone over the cap is a block of one (:func:`problems` says so)."""
    k = len(shard.runs)
    n = -(-k // MAX_BLOCK_RUNS)
    if cap is not None:
        fixed = shard_peak(dataclasses.replace(shard, runs=[]), dataset)
        per_run = (shard_peak(shard, dataset) - fixed) / k
        fitting = int((cap - fixed) // per_run) if cap > fixed else 1
        n = max(n, -(-k // max(1, fitting)))
    n = min(n, k)
    if n == 1:
        return [shard]
    bounds = np.linspace(0, k, n + 1).round().astype(int)
    return [
        dataclasses.replace(shard, name=f"{shard.name}_block{i + 1}of{n}", runs=shard.runs[a:b])
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]


def study_blocks(config: dict) -> list:
    """Every training job of a (validated) config: each shard of
    :func:`decaylab.grid.study_shards`, split into :func:`blocks` under :func:`job_cap`."""
    cap = job_cap(config)
    facts = {}
    found = []
    for shard in grid.study_shards(config):
        name = shard.settings["dataset"]
        if name not in facts:
            facts[name] = data_facts.of(name, config["datasets"][name])[1]
        found += blocks(shard, facts[name], cap) if facts[name] is not None else [shard]
    return found


def problems(key: str, shards, dataset: DataFacts, cap: float | None) -> list[str]:
    """One line per shard of experiment ``key`` one of whose runs alone needs more than ``cap``
    bytes (:func:`shard_peak` of a one-run shard): no block of it fits one job."""
    if not cap:
        return []
    found = []
    for shard in shards:
        needed = shard_peak(dataclasses.replace(shard, runs=shard.runs[:1]), dataset)
        if needed > cap:
            found.append(
                f"{key}: one run of shard {shard.name} needs about {needed / 2**30:.1f} GiB, more "
                f"than the {cap / 2**30:.1f} GiB a training job may use (job_memory_gb; default "
                f"{MEMORY_SHARE:.0%} of this machine's memory), unless allow_large: true"
            )
    return found

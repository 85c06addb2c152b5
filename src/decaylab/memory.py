"""A training job's peak memory, estimated from its shard and its data set's facts (no backend).

The checks refuse a shard whose estimate exceeds :data:`MEMORY_SHARE` of the machine's memory
(unless ``allow_large: true``), and the workflow asks a cluster for the estimate with headroom
(``workflow/rules/common.smk``). ``benchmarks/shard_memory.py`` measures it.
"""

from __future__ import annotations

import os

import numpy as np

from decaylab import models
from decaylab.data_facts import DataFacts

BACKEND_FOOTPRINT = 2**30
"""Resident memory of a training process besides its shard's arrays: Python, the backend and
the compiled chunk (TensorFlow's, measured on a two-run shard; JAX's is smaller)."""
HISTORY_ROW_BYTES = 300
"""Bytes per run and record of the history: the float32 record, the tidy table and its labelled
copy (about 35 eight-byte columns), measured on a 1.2-million-row history."""
MEMORY_SHARE = 0.5
"""A shard may use at most this share of the machine's memory, by estimate."""


def shard_peak(shard, dataset: DataFacts) -> float:
    """The training job's peak resident memory in bytes, estimated::

        BACKEND_FOOTPRINT + 4·K·(5·P + A) + HISTORY_ROW_BYTES·K·(epochs / stride + 2)

    K runs in float32; P parameters per run, held five times (values, gradient, optimizer
    state, the update and the copy kept for a diverging run); A the activations of one run's
    evaluation of the largest part (evaluation runs part by part, and reuses its buffers): the
    input and every layer's output, with a convolution's patches and its pooled output. The
    last term is the history: its records, and the labelled table written from them. Within a
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
    return (
        BACKEND_FOOTPRINT
        + 4.0 * k * (5 * n_params + per_row * largest_part)
        + HISTORY_ROW_BYTES * k * records
    )


def machine_bytes() -> int | None:
    """The machine's physical memory in bytes (pages × page size); None where it cannot say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def problems(key: str, shards, dataset: DataFacts) -> list[str]:
    """One line per shard whose :func:`shard_peak` exceeds :data:`MEMORY_SHARE` of
    :func:`machine_bytes`, naming the experiment ``key``."""
    available = machine_bytes()
    if not available:
        return []
    found = []
    for shard in shards:
        needed = shard_peak(shard, dataset)
        if needed > MEMORY_SHARE * available:
            found.append(
                f"{key}: shard {shard.name} needs about {needed / 2**30:.1f} GiB, more than "
                f"{MEMORY_SHARE:.0%} of this machine's {available / 2**30:.1f} GiB, unless "
                "allow_large: true"
            )
    return found

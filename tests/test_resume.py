"""Chunked training: chunk sizes, stop requests, checkpoints and resumes change no bit."""

import numpy as np
import pandas as pd
import pytest
from conftest import weights

from decaylab import models
from decaylab.engine import Interrupted, ShardConfig, train_shard
from decaylab.shard import Layout

CONFIG = ShardConfig(
    model=models.ModelSpec(kind="mlp", hidden=(8,), activation="tanh"),
    optimizer="adam",
    epochs=30,
    batch_size=16,
    shuffle=True,
    history_stride=4,
)
RUNS = [
    {"learning_rate": 0.01, "schedule": "cosine", "decay_steps": 100, "seed": 0},
    {"learning_rate": 0.03, "regularization": "decoupled", "strength": 0.01, "seed": 1},
    {"learning_rate": 0.003, "regularization": "l2", "strength": 0.1, "seed": 2},
]


def assert_identical(a, b):
    for x, y in zip(weights(a.params), weights(b.params), strict=True):
        assert np.array_equal(x, y)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    pd.testing.assert_frame_equal(a.history, b.history)


@pytest.fixture(scope="module")
def uninterrupted(moons):
    return train_shard(*moons, CONFIG, RUNS, device="cpu")


@pytest.mark.parametrize("chunk_epochs", [1, 7, 31])
def test_the_chunk_size_changes_nothing(moons, uninterrupted, chunk_epochs):
    assert_identical(
        train_shard(*moons, CONFIG, RUNS, device="cpu", chunk_epochs=chunk_epochs), uninterrupted
    )


def test_a_stopped_shard_resumes_from_its_checkpoint_bit_identically(
    moons, uninterrupted, tmp_path
):
    checkpoint = tmp_path / "checkpoint.npz"
    calls = []

    def stop_after_three_chunks():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Interrupted, match="after epoch 15"):
        train_shard(
            *moons,
            CONFIG,
            RUNS,
            device="cpu",
            chunk_epochs=5,
            checkpoint=checkpoint,
            should_stop=stop_after_three_chunks,
        )
    assert checkpoint.exists()
    resumed = train_shard(*moons, CONFIG, RUNS, device="cpu", checkpoint=checkpoint)
    assert resumed.resumed_from == 15
    assert_identical(resumed, uninterrupted)
    assert not checkpoint.exists(), "a finished shard leaves its checkpoint behind"


def test_a_checkpoint_of_other_settings_is_ignored(moons, tmp_path):
    checkpoint = tmp_path / "checkpoint.npz"
    with pytest.raises(Interrupted):
        train_shard(
            *moons, CONFIG, RUNS, device="cpu", chunk_epochs=5, checkpoint=checkpoint,
            should_stop=lambda: True,
        )  # fmt: skip
    other = [{**run, "seed": run["seed"] + 10} for run in RUNS]
    result = train_shard(*moons, CONFIG, other, device="cpu", checkpoint=checkpoint)
    assert result.resumed_from == 0


def test_periodic_checkpoints_are_written_while_training(moons, tmp_path):
    checkpoint = tmp_path / "checkpoint.npz"
    seen = []

    def look(progress):
        seen.append(checkpoint.exists())

    train_shard(
        *moons, CONFIG, RUNS, device="cpu", chunk_epochs=5, checkpoint=checkpoint,
        checkpoint_seconds=0, on_progress=look,
    )  # fmt: skip
    assert any(seen) and not checkpoint.exists()


def test_memory_for_the_batch_order_does_not_grow_with_epochs():
    small = Layout.of(ShardConfig(epochs=100, shuffle=True), 64, 320).capacity
    huge = Layout.of(ShardConfig(epochs=10**9, shuffle=True), 64, 320).capacity
    assert huge <= 1024 and small == 128  # 101 records fit in the next power of two

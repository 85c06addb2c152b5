"""The progress line reports the chunk just trained: its runs' mean mini-batch data loss,
checked against the history (full-batch training, where a mini-batch's loss is the recorded
objective less its ``l2`` penalty ``λ/2·‖w‖²``)."""

import io
import re

import numpy as np
import pytest

from decaylab import models, runner
from decaylab.engine import Interrupted, ShardConfig, train_shard

RUNS = [
    {"learning_rate": 0.2, "regularization": "l2", "strength": 0.1, "seed": 0},
    {"learning_rate": 0.05, "regularization": "decoupled", "strength": 0.01, "seed": 1},
    {"learning_rate": 0.01, "seed": 2},
]


def config(n_train, epochs=12):
    """Full-batch gradient descent: one update per epoch, on the state the record describes."""
    return ShardConfig(
        model=models.ModelSpec(kind="mlp", hidden=(6,), activation="tanh"),
        epochs=epochs,
        batch_size=n_train,
        history_stride=1,
        dtype="float64",
    )


def data_loss(result):
    """Per epoch (rows) and run (columns): the recorded objective without its penalty."""
    history = result.history.merge(result.runs[["regularization", "strength"]], left_on="run",
                                   right_index=True)  # fmt: skip
    l2 = np.where(history["regularization"] == "l2", history["strength"], 0.0)
    history["data_loss"] = history["train_loss"] - 0.5 * l2 * history["weight_norm"] ** 2
    return history.pivot(index="epoch", columns="run", values="data_loss")


def train_watched(parts, chunk_epochs, **options):
    train, test = parts
    seen = []
    result = train_shard(
        train, test, config(len(train.y)), RUNS, device="cpu", chunk_epochs=chunk_epochs,
        on_progress=seen.append, **options,
    )  # fmt: skip
    return result, seen


@pytest.mark.parametrize("chunk_epochs", [1, 5])
def test_the_reported_loss_is_the_chunks_mean_mini_batch_loss(small_regression, chunk_epochs):
    result, seen = train_watched(small_regression, chunk_epochs)
    train_loss = data_loss(result)
    first = 0
    for progress in seen:
        expected = train_loss.loc[first : progress.epoch - 1].mean().min()
        np.testing.assert_allclose(progress.train_loss, expected, rtol=1e-10)
        first = progress.epoch
    assert [p.epoch for p in seen][-1] == 12
    assert sum(p.epoch == p.epochs for p in seen) == 1, "more than one final line"


def test_the_printed_line_carries_that_loss(small_regression):
    result, seen = train_watched(small_regression, 4)
    stream = io.StringIO()
    line = runner.ProgressLine("experiment/shard", (stream,), interval=0)
    for progress in seen:
        line(progress)
    printed = [float(x) for x in re.findall(r"best mini-batch loss (\S+)", stream.getvalue())]
    train_loss = data_loss(result)
    expected = [train_loss.loc[e : e + 3].mean().min() for e in (0, 4, 8)]
    np.testing.assert_allclose(printed, expected, rtol=1e-3)


def test_the_first_line_after_a_resume_has_a_loss(small_regression, tmp_path):
    checkpoint = tmp_path / "checkpoint.npz"
    with pytest.raises(Interrupted):
        train_watched(small_regression, 3, checkpoint=checkpoint, should_stop=lambda: True)
    _, seen = train_watched(small_regression, 3, checkpoint=checkpoint)
    assert seen[0].resumed_from == 3 and seen[0].epoch == 6
    assert all(np.isfinite(p.train_loss) for p in seen)

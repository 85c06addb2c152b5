"""Injected I/O faults: a full disk or an I/O error in any writer names the file, keeps its
previous version and leaves nothing partial; corrupt checkpoints and compilation-cache entries
are never trusted; a folder the study cannot write is named before any job."""

import errno
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from test_resume import CONFIG, RUNS, assert_identical

from decaylab import data, files, hparams_log, models

matplotlib.use("Agg")
COUNTS: dict[str, int] = {}
"""Faults injected and their outcomes, for the fault table of docs/reliability.md."""


def count(outcome: str):
    COUNTS[outcome] = COUNTS.get(outcome, 0) + 1


def failing_after_some_bytes(error_number):
    """A replacement for a writer that writes a few bytes, then fails as a full disk would."""

    def write(*args, **kwargs):
        target = next(a for a in (*args, *kwargs.values()) if isinstance(a, (str, Path)) or
                      hasattr(a, "write"))  # fmt: skip
        if isinstance(target, zipfile.ZipFile):
            pass  # the archive's own header is already on disk
        elif hasattr(target, "write"):
            target.write(b"PK\x03\x04partial")
        else:
            Path(target).write_bytes(b"partial")
        raise OSError(error_number, os.strerror(error_number))

    return write


def a_frame():
    return pd.DataFrame({"run": [0, 1], "test_loss": [0.5, 0.25]})


WRITERS = {  # name: (what to patch, the writer, the file it writes)
    "table": (
        (pd.DataFrame, "to_csv"),
        lambda path: files.write_csv(a_frame(), path),
        "runs.csv",
    ),
    "figure": (
        (matplotlib.figure.Figure, "savefig"),
        lambda path: _save_figure(path),
        "heatmap.png",
    ),
    "spec file": (
        (Path, "write_text"),
        lambda path: _atomic(path, lambda t: t.write_text(json.dumps({"runs": []}))),
        "spec.json",
    ),
    "data split": (
        (np, "savez"),
        lambda path: _atomic(
            path,
            lambda t: data.save_split(t, data.split_dataset(data.moons(n=40), shuffle=True)),
        ),
        "split.npz",
    ),
    "trained parameters": (
        (np, "savez"),
        lambda path: _atomic(path, lambda t: models.save_params(t, [{"kernel": np.ones((1, 2))}])),
        "trained.npz",
    ),
    "checkpoint": ((np, "savez"), lambda path: _checkpoint(path), "checkpoint.npz"),
    "selected model": ((zipfile.ZipFile, "writestr"), lambda path: _model(path), "selected.keras"),
}


def _model(path):
    from decaylab import export

    spec = models.ModelSpec("mlp", hidden=(3,))
    weights = export.run_weights(models.init_params(spec, (2,), 1, seeds=[0]), 0)
    _atomic(path, lambda t: export.keras_model(spec, weights, ()).save(t))


def _atomic(path, write):
    with files.atomic(path) as temporary:
        write(temporary)


def _save_figure(path):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    _atomic(path, lambda t: figure.savefig(t))
    plt.close(figure)


def _checkpoint(path):
    from decaylab import engine

    engine._save_checkpoint(Path(path), "fingerprint", {"w": np.ones(3)}, 4, [], [])


@pytest.mark.parametrize("error_number", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_failed_write_names_the_file_keeps_the_previous_one_and_leaves_nothing(
    writer, error_number, tmp_path, monkeypatch
):
    (owner, attribute), write, name = WRITERS[writer]
    path = tmp_path / name
    path.write_bytes(b"the previous version")
    monkeypatch.setattr(owner, attribute, failing_after_some_bytes(error_number))
    with pytest.raises(files.WriteFailed) as failure:
        write(path)
    message = str(failure.value)
    assert str(path) in message and os.strerror(error_number) in message
    assert "previous version is intact" in message
    assert path.read_bytes() == b"the previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "a partial file was left"
    count(f"{writer}: {errno.errorcode[error_number]} refused, previous file intact")


@pytest.mark.parametrize("error_number", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
def test_a_failed_tensorboard_log_leaves_the_previous_logs(error_number, tmp_path, monkeypatch):
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder = tmp_path / "tensorboard" / "net"
    folder.mkdir(parents=True)
    (folder / "events.previous").write_text("the previous logs")
    runs = pd.DataFrame({"experiment": ["net"], "shard": ["sgd"], "run": [0], "seed": [0],
                         "learning_rate": [0.1], "test_loss": [0.5]})  # fmt: skip
    history = runs.assign(epoch=1)
    calls = []

    def add_event(self, event):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(error_number, os.strerror(error_number))

    monkeypatch.setattr(EventFileWriter, "add_event", add_event)
    with pytest.raises(files.WriteFailed, match=str(folder)):
        hparams_log.write(runs, history, folder)
    assert [p.name for p in folder.iterdir()] == ["events.previous"]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["net"], "a partial folder was left"
    count(f"TensorBoard logs: {errno.errorcode[error_number]} refused, previous logs intact")


@pytest.fixture(scope="module")
def stopped_checkpoint(moons, tmp_path_factory):
    """A shard stopped after 15 of its 30 epochs: its checkpoint file."""
    from decaylab.engine import Interrupted, train_shard

    checkpoint = tmp_path_factory.mktemp("stopped") / "checkpoint.npz"
    calls = []
    with pytest.raises(Interrupted):
        train_shard(
            *moons, CONFIG, RUNS, device="cpu", chunk_epochs=5, checkpoint=checkpoint,
            should_stop=lambda: calls.append(1) or len(calls) >= 3,
        )  # fmt: skip
    return checkpoint.read_bytes()


CORRUPTIONS = {
    "truncated": lambda content: content[: len(content) // 2],
    "empty": lambda content: b"",
    "one bit flipped": lambda content: (
        content[: len(content) // 2]
        + bytes([content[len(content) // 2] ^ 0x10])
        + content[len(content) // 2 + 1 :]
    ),
    "not an archive": lambda content: b"not a checkpoint at all",
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_checkpoint_is_never_resumed_from(
    corruption, stopped_checkpoint, moons, tmp_path
):
    from decaylab.engine import train_shard

    checkpoint = tmp_path / "checkpoint.npz"
    checkpoint.write_bytes(CORRUPTIONS[corruption](stopped_checkpoint))
    with pytest.warns(UserWarning, match=f"checkpoint {checkpoint} is unreadable"):
        result = train_shard(*moons, CONFIG, RUNS, device="cpu", checkpoint=checkpoint)
    assert result.resumed_from == 0
    assert_identical(result, train_shard(*moons, CONFIG, RUNS, device="cpu"))
    count(f"checkpoint {corruption}: warned, trained from the start, same result")


CACHE_SCRIPT = """
import json, sys
from decaylab import data, models
from decaylab.engine import ShardConfig, train_shard
train, _, test = data.split_dataset(data.moons(n=80, seed=1), shuffle=True, stratify=True)
config = ShardConfig(model=models.ModelSpec("mlp", hidden=(8,)), optimizer="adam", epochs=3,
                     batch_size=16, shuffle=True)
result = train_shard(train, test, config, [{"learning_rate": 0.01, "seed": 0}], device="cpu")
print(json.dumps([float(v) for v in result.runs["train_loss"]]))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_truncated_compilation_cache_entry_is_compiled_again(backend, tmp_path):
    env = {**os.environ, "KERAS_BACKEND": backend, "DECAYLAB_COMPILATION_CACHE": str(tmp_path)}

    def run():
        result = subprocess.run([sys.executable, "-c", CACHE_SCRIPT], env=env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.splitlines()[-1]), result.stderr

    cold, _ = run()
    entries = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert entries, "nothing was cached"
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    again, warned = run()
    assert again == cold
    if backend == "tensorflow":  # JAX recompiles on its own, TensorFlow would fail
        assert "is unreadable: removed, compiled again" in warned
    count(f"compilation cache entries truncated ({backend}): compiled again, same result")


def test_a_folder_the_study_cannot_write_is_named(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    assert files.writable_problems([tmp_path / "results"]) == []
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    (problem,) = files.writable_problems([tmp_path / "results"])
    assert problem.startswith(f"{tmp_path}/: cannot write there (Read-only file system)")
    count("read-only results/: named before any job")

"""Interrupting the workflow: Ctrl-C stops every process within seconds, and after Ctrl-C or
``kill -9`` (and Snakemake's ``--unlock``) a rerun resumes the shard from its checkpoint and
ends byte-identical."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_workflow import make_workdir

from decaylab import models

CONFIG = {
    "datasets": {"line": {"generator": "linear", "n": 100, "seed": 0}},
    "experiments": {
        "long": {  # about ten seconds of training on one core
            "dataset": "line",
            "model": "linear",
            "epochs": 60000,
            "batch_size": 1,
            "shuffle": True,
            "learning_rate": [0.001, 0.002],
            "seeds": [0, 1],
            "history_stride": 1000,
            "checkpoint_seconds": 1,
            "select": "none",
        }
    },
}
SHARD = Path("results/long/shards/sgd")
OUTPUTS = ["runs.csv", "history.csv", "curves.csv"]


def start(workdir: Path, console=subprocess.DEVNULL) -> subprocess.Popen:
    """``snakemake --cores 2`` in its own session, as a terminal would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2"],
        cwd=workdir,
        stdout=console,
        stderr=subprocess.STDOUT if console != subprocess.DEVNULL else console,
        start_new_session=True,
    )


def processes_in(workdir: Path) -> list[int]:
    """Processes whose working directory is ``workdir`` (Snakemake and its jobs)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == workdir:
                if (proc / "stat").read_text().split(")")[-1].split()[0] != "Z":
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


def wait_for_training(workdir: Path, timeout=180):
    """Until the training job has written a checkpoint."""
    deadline = time.monotonic() + timeout
    while not (workdir / SHARD / "checkpoint.npz").exists():
        assert time.monotonic() < deadline, "training never checkpointed"
        time.sleep(0.2)
    time.sleep(1.5)


def run_to_end(workdir: Path, *args):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def assert_same_results(workdir: Path, reference: Path):
    for name in OUTPUTS:
        assert (workdir / SHARD / name).read_bytes() == (reference / SHARD / name).read_bytes()
    ours = models.load_params(workdir / SHARD / "trained.npz")
    theirs = models.load_params(reference / SHARD / "trained.npz")
    for a, b in zip(ours, theirs, strict=True):
        assert all(np.array_equal(a[key], b[key]) for key in a)
    assert not (workdir / SHARD / "checkpoint.npz").exists()


def uninterrupted_run(tmp_path_factory) -> Path:
    """The long study run to its end without interruption: what every resume must equal."""
    workdir = make_workdir(tmp_path_factory.mktemp("uninterrupted"), CONFIG)
    run_to_end(workdir)
    return workdir


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return uninterrupted_run(tmp_path_factory)


def resumed_epoch(workdir: Path) -> int:
    log = (workdir / "logs/train_shard/long/sgd.log").read_text()
    assert "resumed at epoch" in log, log[-2000:]
    return int(log.split("resumed at epoch ")[-1].split(";")[0].split(")")[0])


def test_ctrl_c_stops_every_process_within_seconds_and_a_rerun_resumes(tmp_path, reference):
    workdir = make_workdir(tmp_path, CONFIG).resolve()
    snakemake = start(workdir)
    wait_for_training(workdir)
    assert len(processes_in(workdir)) >= 2  # Snakemake and the training job
    sent = time.monotonic()
    os.killpg(snakemake.pid, signal.SIGINT)
    while processes_in(workdir) and time.monotonic() - sent < 30:
        time.sleep(0.1)
    stopped_after = time.monotonic() - sent
    snakemake.wait(timeout=30)
    assert not processes_in(workdir), "processes still running after Ctrl-C"
    assert stopped_after < 15, f"every process stopped only after {stopped_after:.1f} s"
    assert not any((workdir / SHARD / name).exists() for name in OUTPUTS)
    run_to_end(workdir)
    assert 0 < resumed_epoch(workdir) < 60000
    assert_same_results(workdir, reference)


def test_kill_9_of_the_whole_run_then_a_rerun_resumes_byte_identically(tmp_path, reference):
    workdir = make_workdir(tmp_path, CONFIG).resolve()
    snakemake = start(workdir)
    wait_for_training(workdir)
    os.killpg(snakemake.pid, signal.SIGKILL)
    snakemake.wait(timeout=30)
    deadline = time.monotonic() + 10
    while processes_in(workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Snakemake's lock outlives kill -9; its message asks for --unlock, as a user would do
    run_to_end(workdir, "--unlock")
    run_to_end(workdir)
    assert 0 < resumed_epoch(workdir) < 60000
    assert_same_results(workdir, reference)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_requested_stop_ends_with_what_stopped_and_how_to_resume(tmp_path, stop):
    workdir = make_workdir(tmp_path, CONFIG).resolve()
    with open(tmp_path / "console.txt", "w") as console:
        snakemake = start(workdir, console)
        wait_for_training(workdir)
        os.killpg(snakemake.pid, stop)
        snakemake.wait(timeout=60)
    said = (tmp_path / "console.txt").read_text()
    for failure in ("Error in rule", "CalledProcessError", "did not complete successfully",
                    "a job execution failed", "RuleException"):  # fmt: skip
        assert failure not in said, said[-3000:]
    last = said.strip().splitlines()[-4:]
    assert last[0] == "Stopped on request (Ctrl-C or SIGTERM); what was trained is kept:", said
    epoch = int(last[1].split("stopped after epoch ")[1].split()[0])
    assert 0 < epoch < 60000
    assert last[1].endswith(f"checkpoint {SHARD}/checkpoint.npz written")
    assert (workdir / SHARD / "checkpoint.npz").exists()
    assert last[2].startswith("To resume, run the same command again")
    assert last[3].strip() == "snakemake --cores 2"


GROWN_FROM = {  # CONFIG with one seed: the finished study that CONFIG grows by a seed
    **CONFIG,
    "experiments": {"long": {**CONFIG["experiments"]["long"], "seeds": [0]}},
}


def finished_then_grown(path: Path) -> Path:
    """A finished study of :data:`GROWN_FROM`, its config then grown to :data:`CONFIG`."""
    workdir = make_workdir(path, GROWN_FROM).resolve()
    run_to_end(workdir)
    return make_workdir(workdir, CONFIG)


def store_files(workdir: Path) -> list[Path]:
    return sorted(p.relative_to(workdir) for p in (workdir / "store").rglob("*") if p.is_file())


def test_kill_9_during_a_grown_shard_stores_nothing_partial_and_resumes_bit_identically(
    tmp_path,
):
    uninterrupted = finished_then_grown(tmp_path / "uninterrupted")
    run_to_end(uninterrupted)
    workdir = finished_then_grown(tmp_path / "killed")
    before = store_files(workdir)
    assert len([p for p in before if p.suffix == ".npz"]) == 2  # two runs of seed 0
    snakemake = start(workdir)
    wait_for_training(workdir)
    os.killpg(snakemake.pid, signal.SIGKILL)
    snakemake.wait(timeout=30)
    deadline = time.monotonic() + 10
    while processes_in(workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store_files(workdir) == before  # no entry, whole or partial, of the killed job
    run_to_end(workdir, "--unlock")
    run_to_end(workdir)
    assert 0 < resumed_epoch(workdir) < 60000
    log = (workdir / "logs/train_shard/long/sgd.log").read_text()
    assert "2 of 4 runs reused from the store, 2 to train" in log
    assert_same_results(workdir, uninterrupted)

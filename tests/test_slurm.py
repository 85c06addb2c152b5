"""The study on a real single-node SLURM cluster, GPU requests, and local GPU slots."""

import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from slurm_cluster import local_slurm, missing
from test_interrupts import CONFIG as LONG_CONFIG
from test_interrupts import (
    assert_same_results,
    resumed_epoch,
    uninterrupted_run,
    wait_for_training,
)
from test_workflow import TEST_CONFIG, make_workdir, snakemake

from decaylab import gpu_slots

CLUSTER_TIMEOUT = 600  # seconds: a misconfigured status check would otherwise wait forever


def line_only_config():
    config = yaml.safe_load(TEST_CONFIG.read_text())
    line = {**config["experiments"]["line"], "figures": {}}
    return {"datasets": config["datasets"], "experiments": {"line": line}}


def device_config():
    config = line_only_config()
    base = {**config["experiments"]["line"], "epochs": 2, "learning_rate": 0.05}
    base["schedule"] = {"kind": "constant"}
    base["regularization"] = {"kind": "none"}
    config["experiments"] = {
        "on_gpu": {**base, "device": "gpu"},
        "on_auto": {**base, "device": "auto"},
    }
    return config


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = missing()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("slurm")
    with local_slurm(root) as env:
        yield env
    leftover = subprocess.run(
        ["pgrep", "-f", f"{root}|munged.*{root}"], capture_output=True, text=True
    ).stdout
    assert not leftover.strip(), f"daemons still running: {leftover}"


def cluster_command(*extra):
    return [
        sys.executable, "-m", "snakemake", "--profile", "profiles/slurm",
        "--slurm-status-command", "squeue", "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2",
        "--slurm-keep-successful-logs", "--retries", "0", "--latency-wait", "5",
        "--default-resources", "slurm_partition=debug", "mem_mb=1000", "runtime=10", *extra,
    ]  # fmt: skip


def run_on_cluster(workdir, env, *extra):
    return subprocess.run(
        cluster_command(*extra),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLUSTER_TIMEOUT,
    )


def slurm_jobs(env) -> list[dict]:
    """Every job slurmctld still knows (finished ones stay for MinJobAge = 600 s)."""
    output = subprocess.run(
        ["scontrol", "show", "job", "-o"], env=env, capture_output=True, text=True, check=True
    ).stdout
    jobs = []
    for line in output.splitlines():
        if line.startswith("JobId="):
            jobs.append(dict(re.findall(r"(\w+)=(\S*)", line)))
    return jobs


def test_the_study_runs_through_slurm_with_the_same_results(cluster, tmp_path):
    config = line_only_config()
    local = make_workdir(tmp_path / "local", config)
    snakemake(local, "--cores", "2")
    remote = make_workdir(tmp_path / "remote", config)
    result = run_on_cluster(remote, cluster)
    assert result.returncode == 0, result.stderr[-5000:]

    trained = [
        j for j in slurm_jobs(cluster) if j.get("Comment", "").startswith("rule_train_shard")
    ]
    mine = [j for j in trained if j.get("WorkDir") == str(remote)]
    n_shards = len(list((local / "results/line/shards").iterdir()))
    assert len(mine) == n_shards and all(j["JobState"] == "COMPLETED" for j in mine)
    for log in (remote / "logs/train_shard/line").iterdir():
        assert re.search(r"SLURM_JOB_ID=\d+", log.read_text()), log
    pd.testing.assert_frame_equal(
        pd.read_csv(local / "results/tables/runs.csv"),
        pd.read_csv(remote / "results/tables/runs.csv"),
    )


def two_block_cap(config) -> float:
    """A ``job_memory_gb`` that splits the ``line`` experiment's shard into two blocks."""
    import dataclasses

    from decaylab import data_facts, grid, memory

    (shard,) = grid.shards("line", config["experiments"]["line"])
    _, facts = data_facts.of("article", config["datasets"]["article"])
    fixed = memory.shard_peak(dataclasses.replace(shard, runs=[]), facts)
    per_run = (memory.shard_peak(shard, facts) - fixed) / len(shard.runs)
    return (fixed + per_run * (len(shard.runs) // 2 + 1)) / 2**30


def test_a_shard_split_into_blocks_runs_as_several_sbatch_jobs_with_the_same_results(
    cluster, tmp_path
):
    config = line_only_config()
    local = make_workdir(tmp_path / "local", config)
    snakemake(local, "--cores", "2")
    split = {**config, "job_memory_gb": two_block_cap(config)}
    remote = make_workdir(tmp_path / "remote", split)
    result = run_on_cluster(remote, cluster)
    assert result.returncode == 0, result.stderr[-5000:]
    mine = [
        j
        for j in slurm_jobs(cluster)
        if j.get("Comment", "").startswith("rule_train_shard") and j.get("WorkDir") == str(remote)
    ]
    assert len(mine) == 2 and all(j["JobState"] == "COMPLETED" for j in mine)
    blocks = sorted(p.name for p in (remote / "results/line/shards").iterdir())
    assert blocks == ["sgd_block1of2", "sgd_block2of2"]
    ours = pd.read_csv(remote / "results/tables/runs.csv")
    theirs = pd.read_csv(local / "results/tables/runs.csv")
    assert set(ours["shard"]) == set(blocks) and list(theirs["shard"].unique()) == ["sgd"]
    assert list(ours["run_key"]) == list(theirs["run_key"])  # the same runs, in order
    assert list(ours["diverged"]) == list(theirs["diverged"])
    stable = ~theirs["diverged"].astype(bool)  # where training is stable: within 1e-6
    measured = ["train_loss", "validation_loss", "test_loss", "weight_norm"]
    pd.testing.assert_frame_equal(
        ours.loc[stable, measured], theirs.loc[stable, measured], rtol=1e-6, atol=1e-6
    )


def test_gpu_experiments_get_a_gpu_from_slurm_and_fail_clearly_without_one(cluster, tmp_path):
    workdir = make_workdir(tmp_path, device_config())
    result = run_on_cluster(workdir, cluster)
    assert result.returncode != 0  # the GPU job must fail: there is no real GPU

    jobs = {}
    for job in slurm_jobs(cluster):
        comment = job.get("Comment", "")
        if job.get("WorkDir") == str(workdir) and comment.startswith("rule_train_shard"):
            jobs["on_gpu" if "on_gpu" in comment else "on_auto"] = job
    assert "gpu" in jobs["on_gpu"].get("TresPerJob", ""), jobs["on_gpu"]
    assert "gpu" not in jobs["on_auto"].get("TresPerJob", ""), jobs["on_auto"]
    gpu_log = next((workdir / "logs/train_shard/on_gpu").iterdir()).read_text()
    assert re.search(r"CUDA_VISIBLE_DEVICES=\d", gpu_log), gpu_log
    assert "device: gpu was asked for, but the tensorflow backend sees no GPU" in gpu_log
    auto_log = next((workdir / "logs/train_shard/on_auto").iterdir()).read_text()
    assert "CUDA_VISIBLE_DEVICES=<unset>" in auto_log
    runs = pd.read_csv(workdir / "results/on_auto/shards/sgd/runs.csv")
    assert (runs["device"] == "tensorflow:cpu").all()
    assert not (workdir / "results/on_gpu/shards/sgd/trained.npz").exists()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return uninterrupted_run(tmp_path_factory)


def test_a_cancelled_job_resumes_from_its_checkpoint_when_resubmitted(cluster, tmp_path, reference):
    workdir = make_workdir(tmp_path, LONG_CONFIG).resolve()
    submitting = subprocess.Popen(
        cluster_command(),
        cwd=workdir,
        env=cluster,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_training(workdir)
    (job,) = [
        j["JobId"]
        for j in slurm_jobs(cluster)
        if j.get("WorkDir") == str(workdir) and j["JobState"] == "RUNNING"
    ]
    subprocess.run(["scancel", job], env=cluster, check=True)
    assert submitting.wait(timeout=CLUSTER_TIMEOUT) != 0  # the job was cancelled
    result = run_on_cluster(workdir, cluster)
    assert result.returncode == 0, result.stderr[-5000:]
    assert 0 < resumed_epoch(workdir) < LONG_CONFIG["experiments"]["long"]["epochs"]
    assert_same_results(workdir, reference)


def test_gpu_slots_are_exclusive_until_released(tmp_path):
    first_slot, first = gpu_slots.acquire(tmp_path, 2)
    second_slot, second = gpu_slots.acquire(tmp_path, 2)
    assert {first_slot, second_slot} == {0, 1}
    with pytest.raises(RuntimeError, match="--resources gpu=2"):
        gpu_slots.acquire(tmp_path, 2)
    first.close()
    assert gpu_slots.acquire(tmp_path, 2)[0] == first_slot
    second.close()


def test_concurrent_local_gpu_jobs_get_different_gpus(tmp_path):
    config = device_config()
    config["experiments"] = {
        "first": config["experiments"]["on_gpu"],
        "second": config["experiments"]["on_gpu"],
    }
    workdir = make_workdir(tmp_path, config)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "4",
            "--resources",
            "gpu=2",
            "--keep-going",
            "results/first/shards/sgd/trained.npz",
            "results/second/shards/sgd/trained.npz",
        ],  # fmt: skip
        cwd=workdir,
        env={**os.environ, "DECAYLAB_GPU_SLOTS": "2", "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0  # no real GPU: both jobs stop with the clear message
    assigned = []
    for experiment in ("first", "second"):
        log = next((workdir / "logs/train_shard" / experiment).iterdir()).read_text()
        assert "device: gpu was asked for" in log
        assigned.append(re.search(r"CUDA_VISIBLE_DEVICES=(\d)", log).group(1))
    assert sorted(assigned) == ["0", "1"]

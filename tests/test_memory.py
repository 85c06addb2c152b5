"""The memory check's estimate against the measured peak of a training process, six shapes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import yaml
from test_workflow import REPO, make_workdir

spec = importlib.util.spec_from_file_location("shard_memory", REPO / "benchmarks/shard_memory.py")
shard_memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shard_memory)


@pytest.mark.parametrize("shape", list(shard_memory.SHAPES))
def test_the_estimate_is_within_a_factor_of_two_of_the_measured_peak(shape):
    dataset, experiment = shard_memory.SHAPES[shape]
    estimate = shard_memory.estimate(dataset, experiment)
    measured = shard_memory.measured(dataset, experiment, threads=2)
    assert 0.5 <= estimate / measured <= 2, f"{estimate / 2**20:.0f} MiB for {measured / 2**20:.0f}"


def test_the_paper_study_plans_on_a_24_gib_machine_without_allow_large(tmp_path, monkeypatch):
    from decaylab import checks, memory

    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert not any(e.get("allow_large") for e in config["experiments"].values())
    monkeypatch.setattr(memory, "machine_bytes", lambda: 24 * 2**30)
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert checks.problems(config, schema) == []
    workdir = make_workdir(tmp_path, config)
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run", "--cores", "2"],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "train_shard" in done.stdout

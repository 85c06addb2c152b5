"""The memory check's estimate against the measured peak of a training process, six shapes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import yaml
from test_workflow import REPO, make_workdir

from decaylab import grid

spec = importlib.util.spec_from_file_location("shard_memory", REPO / "benchmarks/shard_memory.py")
shard_memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shard_memory)
spec = importlib.util.spec_from_file_location("plan_blocks", REPO / "benchmarks/plan_blocks.py")
plan_blocks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plan_blocks)


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


def test_a_60000_run_shard_plans_in_blocks_on_a_24_gib_machine(tmp_path, monkeypatch):
    from decaylab import checks, memory
    from decaylab.data_facts import of as facts_of

    config = plan_blocks.big_adam_config(
        yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    )
    monkeypatch.setattr(memory, "machine_bytes", lambda: 24 * 2**30)
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert checks.problems(config, schema) == []
    _, digits = facts_of("digits", config["datasets"]["digits"])
    (whole,) = grid.shards("decoupling_adam", config["experiments"]["decoupling_adam"])
    assert len(whole.runs) == 60_000 and memory.shard_peak(whole, digits) > 12 * 2**30
    blocks = [b for b in memory.study_blocks(config) if b.experiment == "decoupling_adam"]
    assert len(blocks) >= 3 and max(len(b.runs) for b in blocks) <= memory.MAX_BLOCK_RUNS
    assert [run for b in blocks for run in b.runs] == whole.runs  # in order, each run once
    assert max(memory.shard_peak(b, digits) for b in blocks) <= 12 * 2**30
    n = len(blocks)
    assert [b.name for b in blocks] == [f"adam_block{i}of{n}" for i in range(1, n + 1)]

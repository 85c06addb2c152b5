"""How a shard too big for one job is planned: the blocks of a 60,000-run experiment.

    python benchmarks/plan_blocks.py [--machine-gib 24] [--job-memory-gb G]

The default study with ``decoupling_adam`` grown to 25 η0 × 3 kinds × 40 λ × 20 seeds (60,000
runs, :func:`big_adam_config`), planned as the workflow plans it (``decaylab.memory.study_blocks``)
for a machine of ``--machine-gib`` GiB (the per-job cap is half of it unless ``--job-memory-gb``
sets it): one row per training job with its runs, the memory estimate and what it asks a cluster
for (``mem_mb``, the estimate with the workflow's 50 % headroom). Prints the table and writes it
to ``docs/performance/plan_blocks.json`` (``--json``), the source of the store page's table.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from decaylab import data_facts, docs_blocks, grid, memory  # noqa: E402

HEADROOM = 1.5  # workflow/rules/common.smk's MEMORY_HEADROOM


def big_adam_config(config: dict) -> dict:
    """``config`` with ``decoupling_adam`` at 25 η0 × 3 kinds × 40 λ × 20 seeds: 60,000 runs."""
    experiment = config["experiments"]["decoupling_adam"]
    experiment["learning_rate"] = [float(v) for v in np.geomspace(1e-4, 1e-1, 25)]
    experiment["regularization"]["strength"] = {
        "l2": [float(v) for v in np.geomspace(1e-7, 1.0, 40)],
        "decoupled_lr": [float(v) for v in np.geomspace(1e-4, 1e3, 40)],
        "decoupled": [float(v) for v in np.geomspace(1e-7, 1.0, 40)],
    }
    experiment["seeds"] = list(range(20))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--machine-gib", type=float, default=24)
    parser.add_argument("--job-memory-gb", type=float)
    parser.add_argument("--json", default=str(REPO / "docs/performance/plan_blocks.json"))
    arguments = parser.parse_args()
    memory.machine_bytes = lambda: int(arguments.machine_gib * 2**30)
    config = big_adam_config(yaml.safe_load((REPO / "config/config.yaml").read_text()))
    if arguments.job_memory_gb:
        config["job_memory_gb"] = arguments.job_memory_gb
    _, digits = data_facts.of("digits", config["datasets"]["digits"])
    (whole,) = grid.shards("decoupling_adam", config["experiments"]["decoupling_adam"])
    rows = [["the shard as one job", f"{len(whole.runs):,}",
             f"{memory.shard_peak(whole, digits) / 2**30:.1f}", ""]]  # fmt: skip
    for block in memory.study_blocks(config):
        if block.experiment != "decoupling_adam":
            continue
        peak = memory.shard_peak(block, digits)
        rows.append([block.name, f"{len(block.runs):,}", f"{peak / 2**30:.1f}",
                     f"{math.ceil(HEADROOM * peak / 1e6):,}"])  # fmt: skip
    cap = memory.job_cap(config) / 2**30
    print(
        docs_blocks.write_table(
            arguments.json,
            ["training job", "runs", "estimate (GiB)", "mem_mb asked"],
            rows,
            "python benchmarks/plan_blocks.py --machine-gib "
            f"{arguments.machine_gib:g}"
            + (
                f" --job-memory-gb {arguments.job_memory_gb:g}" if arguments.job_memory_gb else ""
            ),  # fmt: skip
            f"a {arguments.machine_gib:g} GiB machine: at most {cap:.1f} GiB per job",
        )
    )


if __name__ == "__main__":
    main()

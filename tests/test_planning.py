"""Planning a study imports nothing heavy: ``snakemake -n`` stays quick on a small machine.

Measured by what the planning process imports (``-X importtime``), not by a clock: the time of
``snakemake -n`` is in docs/performance.md (``benchmarks/study_wall_time.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import yaml
from test_workflow import REPO, make_workdir

HEAVY = ("scipy.stats", "matplotlib", "seaborn", "keras", "tensorflow", "jax", "sklearn")


def imported_while_planning(workdir) -> set[str]:
    """Top-level names of every module the process of ``snakemake -n`` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--cores", "2"],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.split("|")[-1].strip() for line in done.stderr.splitlines()]
    return {line for line in lines if line and " " not in line}


def test_a_second_plan_of_the_default_study_imports_nothing_heavy(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    workdir = make_workdir(tmp_path, config)
    imported_while_planning(workdir)  # the first plan may fill the design cache
    modules = imported_while_planning(workdir)
    assert "decaylab.checks" in modules  # the check of the importing ran
    heavy = sorted(m for m in modules if m.startswith(HEAVY))
    assert not heavy, f"planning imports {heavy[:10]}"

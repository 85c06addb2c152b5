"""decaylab used as a Snakemake module by another project, with that project's own config."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]

CONFIG = {
    "datasets": {
        "points": {
            "generator": "linear",
            "n": 60,
            "seed": 1,
            "split": {"test_fraction": 0.25, "validation_fraction": 0.25},
        }
    },
    "experiments": {
        "small": {
            "dataset": "points",
            "model": "linear",
            "optimizer": "sgd",
            "epochs": 20,
            "batch_size": 10,
            "learning_rate": [0.01, 0.1],
            "regularization": {"kind": "l2", "strength": [0.001, 0.1]},
            "seeds": [0, 1],
            "refine": {"points": 2, "rounds": 1},  # a checkpoint inside the module
            "figures": {"heatmap": {"x": "strength", "y": "learning_rate"}},
        }
    },
}

SNAKEFILE = f"""
configfile: "config.yaml"


module decaylab:
    snakefile:
        "{REPO}/workflow/Snakefile"
    config:
        config


use rule * from decaylab as decaylab_*


rule all:
    default_target: True
    input:
        rules.decaylab_all.input,
"""


def test_another_project_runs_decaylab_as_a_module(tmp_path):
    project = tmp_path / "another project"  # a space in the path, too
    project.mkdir()
    (project / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (project / "Snakefile").write_text(SNAKEFILE)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    runs = pd.read_csv(project / "results/tables/runs.csv")
    assert len(runs) == 2 * 2 * 2 * 2 and set(runs["experiment"]) == {"small"}
    assert (runs["round"] == 1).sum() == 2 * 2 * 2  # per η0, 2 new λ × 2 seeds
    assert (project / "results/figures/small/heatmap.png").stat().st_size > 5000
    assert (project / "results/models/small/selected.keras").exists()
    assert (project / "results/provenance.json").exists()

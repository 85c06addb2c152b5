"""Every data source through the whole workflow, offline: scikit-learn's digits and iris,
MNIST-1D, the user's CSV file and a Keras archive served from a local folder."""

import hashlib

import numpy as np
import pandas as pd
from test_sources import mnist_archive
from test_workflow import make_workdir, snakemake


def tiny(dataset, model, **extra):
    return {
        "dataset": dataset,
        "model": model,
        "optimizer": "adam",
        "epochs": 3,
        "batch_size": 16,
        "shuffle": True,
        "learning_rate": [0.003, 0.03],
        "regularization": {"kind": "decoupled", "strength": [0.0, 0.01]},
        "seeds": [0, 1],
        "select": "validation_loss" if dataset in ("digits", "iris", "trial") else "none",
        **extra,
    }


def test_every_data_source_runs_through_the_workflow(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = mnist_archive(mirror)
    rng = np.random.RandomState(0)
    table = pd.DataFrame({"dose": rng.uniform(0, 1, 80), "age": rng.uniform(20, 80, 80)})
    table["response"] = 3 * table["dose"] + 0.01 * table["age"] + rng.normal(0, 0.1, 80)
    three_way = {"test_fraction": 0.2, "validation_fraction": 0.2, "shuffle": True}
    config = {
        "datasets": {
            "digits": {"generator": "digits", "split": {**three_way, "stratify": True}},
            "iris": {"generator": "iris", "split": {**three_way, "stratify": True}},
            "mnist1d": {"generator": "mnist1d", "n": 300, "split": {"subset": 120}},
            "trial": {
                "generator": "file",
                "path": "data/trial.csv",
                "target": "response",
                "split": three_way,
            },
            "mnist": {
                "generator": "mnist",
                "origin": mirror.as_uri(),
                "checksums": ["sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()],
                "split": {"test_fraction": 0.375},
            },
        },
        "experiments": {
            "digits_cnn": tiny(
                "digits", {"kind": "cnn", "filters": [4], "hidden": [8], "normalization": "batch"}
            ),
            "iris_mlp": tiny("iris", {"kind": "mlp", "hidden": [8], "normalization": "layer"}),
            "mnist1d_cnn": tiny("mnist1d", {"kind": "cnn", "filters": [4, 4], "kernel_size": 5}),
            "trial_mlp": tiny("trial", {"kind": "mlp", "hidden": [8]}),
            # the checks size a Keras archive by its published rows (70,000 for MNIST), not by
            # the 8 rows served here
            "mnist_cnn": tiny(
                "mnist",
                {"kind": "cnn", "filters": [2], "pool": 4},
                batch_size=2,
                allow_large=True,
            ),
        },
    }
    workdir = make_workdir(tmp_path / "study", config)
    (workdir / "data").mkdir()
    table.to_csv(workdir / "data/trial.csv", index=False)
    snakemake(workdir, "--cores", "2", "results/tables/summary.csv")

    runs = {
        name: pd.read_csv(workdir / f"results/tables/{name}/runs.csv")
        for name in config["experiments"]
    }
    for name, frame in runs.items():
        assert len(frame) == 8 and frame["test_loss"].notna().all(), name
    for name in ("digits_cnn", "iris_mlp"):
        assert runs[name]["validation_accuracy"].between(0, 1).all(), name
    assert runs["trial_mlp"]["validation_mse"].notna().all()
    assert "validation_loss" not in runs["mnist1d_cnn"]  # no validation part asked for
    assert (workdir / "data/raw/mnist/mnist.npz").read_bytes() == archive.read_bytes()
    log = (workdir / "logs/split_data/mnist1d.log").read_text()
    assert "120 train rows" in log and "60 test rows" in log, log
    # the user's file changed: what depends on it re-runs, nothing else
    table.assign(response=table["response"] + 1).to_csv(workdir / "data/trial.csv", index=False)
    plan = snakemake(workdir, "--dry-run", "--cores", "2").stdout
    assert "dataset=trial" in plan and "dataset=iris" not in plan, plan

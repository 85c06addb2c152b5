"""A refinement round through the workflow: a checkpoint plans it from the finished runs, its
own training jobs train only the new runs, and the tables, claims and figures say which rounds
they used."""

import json
import re

import pandas as pd
import yaml
from test_workflow import TEST_CONFIG, make_workdir, snakemake

from decaylab import claims


def test_a_refinement_round_trains_only_its_new_runs_and_the_claims_name_it(tmp_path):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["experiments"] = {"net": config["experiments"]["net"]}
    workdir = make_workdir(tmp_path / "study", config)
    snakemake(workdir, "--cores", "2")
    before = pd.read_csv(workdir / "results/tables/net/runs.csv")
    base = {s: (workdir / f"results/net/shards/{s}/runs.csv").stat().st_mtime_ns
            for s in ("sgd", "adam")}  # fmt: skip

    net = config["experiments"]["net"]
    net["refine"] = {"points": 2, "rounds": 1}
    net["figures"]["basins"] = {"x": "learning_rate"}
    make_workdir(workdir, config)
    output = snakemake(workdir, "--cores", "2").stderr
    trained = sorted(re.findall(r"rule train_shard:\n.*?wildcards: [^\n]*shard=(\w+)", output,
                                re.S))  # fmt: skip
    assert trained == ["adam_round1", "sgd_round1"]
    for shard, stamp in base.items():  # the config's grid was not trained again
        assert (workdir / f"results/net/shards/{shard}/runs.csv").stat().st_mtime_ns == stamp
    plan = json.loads((workdir / "results/net/refine/round1.json").read_text())
    rows = pd.read_csv(workdir / "results/net/refine/round1.csv")
    assert len(rows) == 2 * 3  # optimizer × η0
    for shard, spec in plan["shards"].items():
        job = json.loads((workdir / f"results/net/shards/{shard}/provenance.json").read_text())
        assert (
            job["job"]
            == {"reused": 0, "trained": len(spec["runs"])}
            == {
                "reused": 0,
                "trained": 3 * 2,  # 3 η0 × 2 new λ × 1 seed
            }
        )
    runs = pd.read_csv(workdir / "results/tables/net/runs.csv")
    assert len(runs) == len(before) + 12
    assert (runs["round"] == 0).sum() == len(before) and (runs["round"] == 1).sum() == 12
    old = runs[runs["round"] == 0].reset_index(drop=True)
    assert old["run_key"].equals(before["run_key"])
    assert old["validation_loss"].equals(before["validation_loss"])
    judged = claims.read(workdir / "results/tables/claims.csv")
    assert set(judged["rounds"]) == {1} and judged["unrefined"].str.len().gt(0).all()
    assert (workdir / "results/figures/net/basins.png").stat().st_size > 10_000
    rerun = snakemake(workdir, "--cores", "2", "--dry-run")
    assert "nothing to be done" in (rerun.stdout + rerun.stderr).lower()

"""Plan one refinement round of an experiment from the runs of the rounds before it."""

import json
import os
import sys
from pathlib import Path

import pandas as pd

from decaylab import files, refine, tables

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

REPAIR = "retrain it: snakemake --cores 8 --forcerun train_shard"
specs = [json.loads(Path(p).read_text()) for p in snakemake.input.specs]
runs = pd.concat(
    [
        tables.check_runs(files.read_csv(path, repair=REPAIR), spec["runs"], path, REPAIR)
        for path, spec in zip(snakemake.input.runs, specs, strict=True)
    ],
    ignore_index=True,
)
round_ = int(snakemake.wildcards.round)
shards, rows = refine.plan_round(
    specs,
    runs,
    snakemake.params.select,
    snakemake.params.points,
    round_,
    snakemake.params.least_decay,
)
files.write_csv(rows, snakemake.output.rows)
with files.atomic(snakemake.output.plan) as temporary:
    temporary.write_text(json.dumps({"round": round_, "shards": shards}, indent=1, sort_keys=True))
added = sum(len(spec["runs"]) for spec in shards.values())
print(
    f"{snakemake.wildcards.experiment} round {round_}: {added} runs added to "
    f"{len(rows)} rows ({rows['placed'].value_counts().to_dict() if len(rows) else {}})",
    file=sys.stderr,
)

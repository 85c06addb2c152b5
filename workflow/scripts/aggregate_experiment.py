"""Gather the shards of one experiment into its tables, each checked against its plan."""

import json
import os
import sys
from pathlib import Path

import pandas as pd

from decaylab import files, report_pages, tables

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

REPAIR = "retrain it: snakemake --cores 8 --forcerun train_shard"
specs = [json.loads(Path(p).read_text()) for p in snakemake.input.specs]
runs = pd.concat(
    [
        tables.check_runs(files.read_csv(path, repair=REPAIR), spec["runs"], path, REPAIR).assign(
            round=spec.get("round", 0)
        )  # the refinement round the runs come from
        for path, spec in zip(snakemake.input.runs, specs, strict=True)
    ],
    ignore_index=True,
)


def concat(paths):
    return pd.concat([files.read_csv(p, repair=REPAIR) for p in paths], ignore_index=True)


files.write_csv(concat(snakemake.input.histories), snakemake.output.history)
files.write_csv(concat(snakemake.input.curves), snakemake.output.curves)
select = snakemake.params.select
summary = tables.summarize(runs, None if select == "none" else select)
files.write_csv(summary, snakemake.output.summary)
with files.atomic(snakemake.output.page) as temporary:
    temporary.write_text(
        report_pages.table_page(
            f"{snakemake.wildcards.experiment}: summary over seeds",
            "One row per grid point: each metric's mean ± the half-width of its 95 % interval "
            "over seeds (the standard deviations are in summary.csv); ★ selected: the point "
            "chosen on validation; ≈ indistinguishable: the points whose seeds do not differ "
            "significantly from it (Welch's t-test, p ≥ 0.05).",
            summary,
        )
    )
files.write_csv(runs, snakemake.output.runs)
print(f"{len(runs)} runs, {int(runs['diverged'].sum())} diverged", file=sys.stderr)

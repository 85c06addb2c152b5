"""Gather the shards of one experiment into its tables."""

import os
import sys

import pandas as pd

from decaylab import tables

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2


def concat(paths):
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


runs = concat(snakemake.input.runs)
runs.to_csv(snakemake.output.runs, index=False)
tables.summarize(runs).to_csv(snakemake.output.summary, index=False)
concat(snakemake.input.histories).to_csv(snakemake.output.history, index=False)
concat(snakemake.input.curves).to_csv(snakemake.output.curves, index=False)
print(f"{len(runs)} runs, {int(runs['diverged'].sum())} diverged", file=sys.stderr)

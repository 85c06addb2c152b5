"""Gather every experiment into the study's runs and summary tables."""

import os
import sys

import pandas as pd

from decaylab import files, tables

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

REPAIR = "repair it with: snakemake --cores 8 --forcerun aggregate_experiment"
runs = pd.concat(
    [
        files.read_csv(path, columns=tables.RUN_COLUMNS, rows=planned, repair=REPAIR)
        for path, planned in zip(snakemake.input.runs, snakemake.params.planned_runs, strict=True)
    ],
    ignore_index=True,
)
summary = pd.concat(
    [files.read_csv(path, repair=REPAIR) for path in snakemake.input.summaries], ignore_index=True
)
files.write_csv(summary, snakemake.output.summary)  # each experiment's own selection
files.write_csv(runs, snakemake.output.runs)

"""Gather every experiment into the study's runs and summary tables."""

import os
import sys

import pandas as pd

from decaylab import tables

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

runs = pd.concat([pd.read_csv(p) for p in snakemake.input.runs], ignore_index=True)
runs.to_csv(snakemake.output.runs, index=False)
tables.summarize(runs).to_csv(snakemake.output.summary, index=False)

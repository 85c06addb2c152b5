"""Generate one data set of the config."""

import os
import sys

from decaylab import data

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

options = dict(snakemake.params.options)
if "x_range" in options:
    options["x_range"] = tuple(options["x_range"])
dataset = data.generate(**options)
data.save_dataset(snakemake.output.dataset, dataset)
print(f"{options['generator']}: {dataset.x.shape[0]} rows, task {dataset.task}", file=sys.stderr)

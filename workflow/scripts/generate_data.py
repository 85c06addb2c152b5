"""Generate one data set of the config."""

import os
import sys

from decaylab import data, files

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

options = dict(snakemake.params.options)
dataset = data.generate(**options)
with files.atomic(snakemake.output.dataset) as temporary:
    data.save_dataset(temporary, dataset)
shape = f", examples of shape {dataset.input_shape}" if dataset.input_shape else ""
print(
    f"{options['generator']}: {dataset.x.shape[0]} rows × {dataset.x.shape[1]} features"
    f"{shape}, task {dataset.task}",
    file=sys.stderr,
)

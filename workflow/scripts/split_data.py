"""Split one data set into train and test."""

import os
import sys

from decaylab import data

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

train, test = data.split_dataset(
    data.load_dataset(snakemake.input.dataset), **snakemake.params.split
)
data.save_split(snakemake.output.split, train, test)
print(f"{len(train.y)} train rows, {len(test.y)} test rows", file=sys.stderr)

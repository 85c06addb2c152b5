"""Evaluate one trained shard with NumPy: test metrics and fitted curves."""

import os
import sys

import numpy as np
import pandas as pd

from decaylab import data, runner

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

train, test = data.load_split(snakemake.input.split)
with np.load(snakemake.input.trained) as stored:
    params = [stored[f"arr_{i}"] for i in range(len(stored.files))]
training = pd.read_csv(snakemake.input.training)
runs, curves = runner.evaluate(snakemake.params.shard, params, training, train, test)
runs.to_csv(snakemake.output.runs, index=False)
curves.to_csv(snakemake.output.curves, index=False)

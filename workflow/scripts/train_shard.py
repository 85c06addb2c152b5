"""Train one shard: all its runs in one compiled loop."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if snakemake.params.shard.get("backend"):  # before Keras is imported
    os.environ["KERAS_BACKEND"] = snakemake.params.shard["backend"]
sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

import numpy as np  # noqa: E402

from decaylab import data, runner  # noqa: E402

shard = snakemake.params.shard
train, test = data.load_split(snakemake.input.split)
print(
    f"training {shard['experiment']}/{shard['shard']}: {len(shard['runs'])} runs", file=sys.stderr
)
result = runner.train(shard, train, test, threads=snakemake.threads)
np.savez(snakemake.output.trained, *result.params)
result.runs.to_csv(snakemake.output.training, index=False)
result.history.to_csv(snakemake.output.history, index=False)
print(
    f"done in {result.seconds:.2f} s on {result.device}; "
    f"{int(result.runs['diverged'].sum())} of {len(result.runs)} runs diverged",
    file=sys.stderr,
)

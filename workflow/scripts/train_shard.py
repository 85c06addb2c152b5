"""Train one shard: all its runs in one compiled loop."""

import os
import sys
from pathlib import Path

from decaylab import gpu_slots

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

shard = snakemake.params.shard
# before the backend starts: the backend, and which GPU this job may use
if shard.get("backend"):
    os.environ["KERAS_BACKEND"] = shard["backend"]
gpu_lock = gpu_slots.assign(Path(".snakemake/gpu_slots")) if snakemake.resources.gpu else None
print(
    f"training {shard['experiment']}/{shard['shard']}: {len(shard['runs'])} runs; "
    f"device {shard.get('device', 'cpu')}; "
    f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}; "
    f"SLURM_JOB_ID={os.environ.get('SLURM_JOB_ID', '<none>')}",
    file=sys.stderr,
    flush=True,
)

import numpy as np  # noqa: E402

from decaylab import data, runner  # noqa: E402

train, test = data.load_split(snakemake.input.split)
result = runner.train(shard, train, test, threads=snakemake.threads)
np.savez(snakemake.output.trained, *result.params)
result.runs.to_csv(snakemake.output.training, index=False)
result.history.to_csv(snakemake.output.history, index=False)
print(
    f"done in {result.seconds:.2f} s on {result.device}; "
    f"{int(result.runs['diverged'].sum())} of {len(result.runs)} runs diverged",
    file=sys.stderr,
)

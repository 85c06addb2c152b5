"""Train one shard: all its runs in compiled chunks, with progress, checkpoints and interrupts."""

import os
import sys
from pathlib import Path

from decaylab import gpu_slots

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
console = os.fdopen(os.dup(2), "w")  # progress goes to the console and to the log
sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

shard = snakemake.params.shard
experiment = snakemake.config["experiments"][shard["experiment"]]
# before the backend starts: the backend, its compilation cache, which GPU this job may use
if shard.get("backend"):
    os.environ["KERAS_BACKEND"] = shard["backend"]
os.environ["DECAYLAB_COMPILATION_CACHE"] = snakemake.config["compilation_cache"]
gpu_lock = gpu_slots.assign(Path(".snakemake/gpu_slots")) if snakemake.resources.gpu else None
name = f"{shard['experiment']}/{shard['shard']}"
print(
    f"training {name}: {len(shard['runs'])} runs; "
    f"device {shard.get('device', 'cpu')}; "
    f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}; "
    f"SLURM_JOB_ID={os.environ.get('SLURM_JOB_ID', '<none>')}",
    file=sys.stderr,
    flush=True,
)

from decaylab import data, models, runner  # noqa: E402

train, test = data.load_split(snakemake.input.split)
with runner.stop_on_signals() as should_stop:
    from decaylab.engine import Interrupted  # noqa: E402  (loads the backend)

    try:
        result = runner.train(
            shard,
            train,
            test,
            threads=snakemake.threads,
            checkpoint=Path(snakemake.output.runs).with_name("checkpoint.npz"),
            checkpoint_seconds=experiment["checkpoint_seconds"],
            on_progress=runner.ProgressLine(name, (sys.stderr, console)),
            should_stop=should_stop,
        )
    except Interrupted as stopped:
        print(f"{name}: {stopped}", file=sys.stderr, flush=True)
        sys.exit(130)
models.save_params(snakemake.output.trained, result.params)
result.runs.to_csv(snakemake.output.runs, index=False)
result.history.to_csv(snakemake.output.history, index=False)
runner.curves(shard, result.params, train, test).to_csv(snakemake.output.curves, index=False)
resumed = f", resumed at epoch {result.resumed_from}" if result.resumed_from else ""
print(
    f"done in {result.seconds:.2f} s on {result.device}{resumed}; "
    f"{int(result.runs['diverged'].sum())} of {len(result.runs)} runs diverged",
    file=sys.stderr,
)

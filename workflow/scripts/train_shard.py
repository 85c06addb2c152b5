"""Train one shard: all its runs in compiled chunks, with progress, checkpoints and interrupts."""

import json
import os
import sys
from pathlib import Path

from decaylab import data, files, gpu_slots, models, runner, store

console = os.fdopen(os.dup(2), "w")  # progress goes to the console and to the log
sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

shard = json.loads(Path(snakemake.input.spec).read_text())
experiment = snakemake.config["experiments"][shard["experiment"]]
# before the backend starts: the backend, its compilation cache, which GPU this job may use,
# and quiet CUDA probing where no GPU is wanted (TensorFlow logs it as an error)
if shard.get("backend"):
    os.environ["KERAS_BACKEND"] = shard["backend"]
on_cpu = shard.get("device", "cpu") == "cpu"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3" if on_cpu else "2")
if on_cpu:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
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

REPAIR = "regenerate it: snakemake --cores 8 --forcerun split_data"


def say(line):
    """One line about the shard, to the console and the log."""
    for stream in (sys.stderr, console):
        print(f"{name}: {line}", file=stream, flush=True)


parts = files.checked_npz(snakemake.input.split, data.load_split, REPAIR)
with runner.stop_on_signals() as should_stop:
    from decaylab.engine import Interrupted  # noqa: E402  (loads the backend)

    try:
        result = runner.train(
            shard,
            parts.train,
            parts.test,
            validation=parts.validation,
            threads=snakemake.threads,
            store=store.RunStore(snakemake.config["run_store"]),
            announce=say,
            checkpoint=Path(snakemake.output.runs).with_name("checkpoint.npz"),
            checkpoint_seconds=experiment["checkpoint_seconds"],  # the schema's default filled
            on_progress=runner.ProgressLine(name, (sys.stderr, console)),
            should_stop=should_stop,
        )
    except Interrupted as stopped:
        print(f"{name}: {stopped}", file=sys.stderr, flush=True)
        # read by workflow/rules/stops.smk, which reports the stop at the end of the run
        runner.record_stop(
            name, stopped.epoch, shard["epochs"], stopped.checkpoint, snakemake.log[0]
        )
        sys.exit(130)
with files.atomic(snakemake.output.trained) as temporary:
    models.save_params(temporary, result.params)
files.write_csv(result.history, snakemake.output.history)
files.write_csv(
    runner.curves(shard, result.params, parts.train, parts.test), snakemake.output.curves
)
with files.atomic(snakemake.output.provenance) as temporary:
    temporary.write_text(json.dumps(result.provenance, indent=1, sort_keys=True))
files.write_csv(result.runs, snakemake.output.runs)
resumed = f", resumed at epoch {result.resumed_from}" if result.resumed_from else ""
print(
    f"done in {result.seconds:.2f} s on {result.device}{resumed}; {result.reused} of "
    f"{len(result.runs)} runs reused from the store, {len(result.runs) - result.reused} trained; "
    f"{int(result.runs['diverged'].sum())} of {len(result.runs)} runs diverged",
    file=sys.stderr,
)

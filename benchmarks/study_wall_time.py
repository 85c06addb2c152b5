"""What the user waits for: the whole study, a no-op rerun and a shard's memory, in one run.

    python benchmarks/study_wall_time.py [--config config/config.yaml] [--cores 2]
                                         [--backends tensorflow jax] [--rss-epochs 100 10000]

Side by side, on this machine:

1. ``python -c "import tensorflow"`` (median of three), the yardstick;
2. per backend, the study of ``--config`` in a fresh copy of the workflow: its plan
   (``snakemake --dry-run``, median of three), then with ``snakemake --cores N``: from scratch
   (empty compilation cache), from scratch again with the compilation cache the first run left
   (results, data and logs deleted), and a no-op rerun (median of three); with the number of
   training jobs and their summed wall time;
3. the peak resident memory of one process training the ``article_grid`` shard for each of
   ``--rss-epochs`` (the mini-batch order is drawn per chunk, so it should not grow).

Prints the two tables and writes them to ``docs/performance/study_wall_time.json`` and
``study_shard_memory.json`` (``--json``, ``--json-memory``), the sources of the performance
page's tables.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs/performance"


def timed(command, cwd=None) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def workflow_copy(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(REPO / "Snakefile", folder)
    for part in ("workflow", "profiles"):
        shutil.copytree(REPO / part, folder / part)
    (folder / "config").mkdir()
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def training_jobs(workdir: Path) -> tuple[int, float]:
    """How many training jobs ran, and their summed wall time (Snakemake's benchmark files)."""
    files = list((workdir / "results/benchmarks/train_shard").glob("*/*.tsv"))
    seconds = 0.0
    for path in files:
        with open(path) as stream:
            seconds += float(next(csv.DictReader(stream, delimiter="\t"))["s"])
    return len(files), seconds


def study(config: dict, backend: str, cores: int, scratch: Path) -> dict:
    config = {
        **config,
        "experiments": {n: {**e, "backend": backend} for n, e in config["experiments"].items()},
    }
    workdir = workflow_copy(scratch / backend, config)
    snakemake = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
    plan = statistics.median(timed([*snakemake, "--dry-run"], workdir) for _ in range(3))
    print(f"{backend}: the study from scratch …", file=sys.stderr, flush=True)
    cold = timed(snakemake, workdir)
    jobs, train_seconds = training_jobs(workdir)
    for generated in ("results", "data", "logs"):
        shutil.rmtree(workdir / generated)
    print(f"{backend}: again, with the compilation cache …", file=sys.stderr, flush=True)
    warm = timed(snakemake, workdir)
    noop = statistics.median(timed(snakemake, workdir) for _ in range(3))
    return {"plan": plan, "cold": cold, "warm": warm, "noop": noop, "jobs": jobs,
            "train": train_seconds}  # fmt: skip


def shard_peak_rss(config_path: Path, epochs: int) -> float:
    """Peak RSS (MiB) of a process that trains the ``article_grid`` shard for ``epochs``."""
    code = f"""
import resource, yaml
from decaylab import data, grid, runner
config = yaml.safe_load(open({str(config_path)!r}))
dataset = config["datasets"]["article"]
options = {{k: v for k, v in dataset.items() if k != "split"}}
train, _, test = data.split_dataset(data.generate(**options), **dataset.get("split", {{}}))
(shard,) = grid.shards("article_grid", {{**config["experiments"]["article_grid"],
                                          "epochs": {epochs}, "history_stride": 100}})
result = runner.train(shard.as_params(), train, test, threads=1)
print(len(result.runs), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return float(output.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config/config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--rss-epochs", type=int, nargs="+", default=[100, 10000])
    parser.add_argument("--json", type=Path, default=RESULTS / "study_wall_time.json")
    parser.add_argument("--json-memory", type=Path, default=RESULTS / "study_shard_memory.json")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())

    print("bare import tensorflow …", file=sys.stderr, flush=True)
    bare = statistics.median(timed([sys.executable, "-c", "import tensorflow"]) for _ in range(3))
    with tempfile.TemporaryDirectory() as scratch:
        results = {b: study(config, b, args.cores, Path(scratch)) for b in args.backends}
    from decaylab import docs_blocks

    command = f"python benchmarks/study_wall_time.py --cores {args.cores}"
    measured_on = (
        f"a {os.cpu_count()}-core machine with `snakemake --cores {args.cores}`, "
        f"`import tensorflow` {bare:.2f} s (median of 3)"
    )
    columns = ("backend", "study from scratch, s", "× `import tensorflow`",
               "from scratch, warm compilation cache, s", "× `import tensorflow`",
               "training jobs", "their summed wall, s", "plan (`snakemake -n`), s",
               "no-op rerun, s")  # fmt: skip
    rows = [
        (backend, f"{r['cold']:.1f}", f"{r['cold'] / bare:.1f}×", f"{r['warm']:.1f}",
         f"{r['warm'] / bare:.1f}×", r["jobs"], f"{r['train']:.1f}", f"{r['plan']:.2f}",
         f"{r['noop']:.2f}")
        for backend, r in results.items()
    ]  # fmt: skip
    print(docs_blocks.write_table(args.json, columns, rows, command, measured_on))
    peaks = []
    for epochs in args.rss_epochs:
        print(f"peak RSS at {epochs} epochs …", file=sys.stderr, flush=True)
        peaks.append(shard_peak_rss(args.config, epochs))
    columns = ("`article_grid` shard (210 runs, shuffled), epochs", "peak RSS, MiB", "ratio")
    rows = [
        (e, f"{p:.0f}", f"{p / peaks[0]:.2f}") for e, p in zip(args.rss_epochs, peaks, strict=True)
    ]
    print(docs_blocks.write_table(args.json_memory, columns, rows, command, measured_on))


if __name__ == "__main__":
    main()

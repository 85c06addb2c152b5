"""The README's quick start, measured from a clean clone: the install line, the study it runs, and
the study alone with ``--cores 2`` beside ``import tensorflow``, in one run.

    python benchmarks/quick_start.py [--keep FOLDER] [--json docs/performance/quick_start.json]

1. clones this repository's committed HEAD into FOLDER (a temporary folder unless ``--keep``);
2. runs the README's install (``python3 -m venv .venv`` and ``pip install -r requirements.lock
   -e ".[test]"``), then ``snakemake --cores 8`` under GNU time (its wall time and peak resident
   memory); their sum is the quick start's line;
3. ``import tensorflow`` in the clone's environment, median of three: the yardstick;
4. deletes what the study made (results, data, logs, the store of runs, Snakemake's state and
   the compilation cache) and runs ``snakemake --cores 2`` from scratch: the study alone, and
   its ratio to the yardstick.

Prints the table and writes it to ``--json``, the source of the README's table. With ``--keep``
the clone keeps the second study's outputs, from which the docs' result tables are copied.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INSTALL = (
    'python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.lock -e ".[test]"'
)
STUDY = ". .venv/bin/activate && snakemake --cores {cores}"
MADE = ("results", "data", "logs", "store", ".snakemake")


def run(line: str, cwd: Path) -> tuple[float, str]:
    """Wall seconds and the output of ``line`` run by bash in ``cwd``; SystemExit on failure."""
    started = time.perf_counter()
    result = subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{line} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return time.perf_counter() - started, result.stdout + result.stderr


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s"


def study_facts(clone: Path, output: str) -> str:
    """Jobs, training jobs, runs and exported models of the study in ``clone``."""
    steps = re.findall(r"(\d+) of (\d+) steps \(100%\) done", output)
    training = len(list((clone / "results/benchmarks/train_shard").glob("*/*.tsv")))
    with open(clone / "results/tables/runs.csv") as table:
        runs = sum(1 for _ in table) - 1
    models = len(list((clone / "results/models").glob("*/selected.keras")))
    return (f"{steps[-1][1] if steps else '?'} jobs, {training} of them training, {runs:,} runs, "
            f"{models} selected models exported")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="clone here and keep it")
    parser.add_argument("--json", type=Path, default=REPO / "docs/performance/quick_start.json")
    args = parser.parse_args()
    scratch = None if args.keep else tempfile.TemporaryDirectory()
    clone = args.keep or Path(scratch.name) / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    print("install …", flush=True)
    install, _ = run(INSTALL, clone)
    print("the study, snakemake --cores 8 …", flush=True)
    line = f"/usr/bin/time -f 'peak %M KB' bash -c '{STUDY.format(cores=8)}'"
    study, output = run(line, clone)
    peak = int(re.findall(r"peak (\d+) KB", output)[-1]) / 1e6
    importing = [run(". .venv/bin/activate && python -c 'import tensorflow'", clone)[0]
                 for _ in range(3)]  # fmt: skip
    bare = statistics.median(importing)
    for made in MADE:
        shutil.rmtree(clone / made, ignore_errors=True)
    print("the study alone, snakemake --cores 2 …", flush=True)
    alone, output = run(STUDY.format(cores=2), clone)
    from decaylab import docs_blocks

    rows = [
        ["the line above: install and the whole default study", minutes(install + study)],
        ["of which the study (`snakemake --cores 8`)", minutes(study)],
        ["the study alone with `snakemake --cores 2`", minutes(alone)],
        ["…as a multiple of `import tensorflow` (median of 3)", f"{alone / bare:.1f}×"],
    ]
    command = f"{INSTALL} && snakemake --cores 8"
    machine = (f"a {os.cpu_count()}-core machine, from a clean clone, pip's download cache "
               f"warm, `import tensorflow` {bare:.2f} s")  # fmt: skip
    note = (
        f"By `python benchmarks/quick_start.py`. The study: {study_facts(clone, output)}; the "
        f"largest process's peak resident memory with `--cores 8` {peak:.2f} GB (GNU time)."
    )
    print(docs_blocks.write_table(args.json, ["what", "wall time"], rows, command, machine,
                                  note=note))  # fmt: skip
    if scratch:
        scratch.cleanup()


if __name__ == "__main__":
    main()

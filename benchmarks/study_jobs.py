"""A finished study's training jobs: wall time and peak memory per job, and the whole run.

    python benchmarks/study_jobs.py STUDY --command COMMAND [--json docs/paper/study_jobs.json]

COMMAND is the line the study ran with, e.g. "snakemake --cores 2 --configfile config/paper.yaml".

Reads Snakemake's own records in the folder ``STUDY`` (a clone the study ran in): each training
job's ``benchmark:`` file (``results/benchmarks/train_shard/EXPERIMENT/SHARD.tsv``: wall seconds
and peak resident memory) and the study's wall time, the ``Elapsed time`` line of the newest
log under ``.snakemake/log``, which must be the run that trained everything. An experiment of
several shards is one row with their range. Prints the table and writes it to ``--json``, the
source of the paper section's table in docs/findings.md.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pandas as pd

from decaylab import docs_blocks


def job_table(study: Path) -> pd.DataFrame:
    """One row per training job: experiment, shard, wall seconds, peak RSS in GB."""
    rows = []
    for record in sorted((study / "results/benchmarks/train_shard").glob("*/*.tsv")):
        measured = pd.read_csv(record, sep="\t").iloc[-1]
        rows.append([record.parent.name, record.stem, measured["s"], measured["max_rss"] / 1e3])
    if not rows:
        raise SystemExit(f"{study}: no results/benchmarks/train_shard/*/*.tsv (no study ran here)")
    return pd.DataFrame(rows, columns=["experiment", "shard", "wall", "rss"])


def elapsed(study: Path) -> tuple[float, int]:
    """The newest Snakemake log's wall time in seconds and its number of jobs."""
    logs = sorted((study / ".snakemake/log").glob("*.snakemake.log"), key=os.path.getmtime)
    text = logs[-1].read_text()
    hours, minutes, seconds = re.findall(r"Elapsed time: (\d+):(\d+):([\d.]+)", text)[-1]
    jobs = int(re.findall(r"(\d+) of \d+ steps \(100%\) done", text)[-1])
    return 3600 * int(hours) + 60 * int(minutes) + float(seconds), jobs


def span(values, digits) -> str:
    low, high = min(values), max(values)
    return (
        f"{low:.{digits}f}"
        if round(low, digits) == round(high, digits)
        else (f"{low:.{digits}f} – {high:.{digits}f}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--command", required=True, help="the command the study ran with")
    parser.add_argument("--json", type=Path, default=Path("docs/paper/study_jobs.json"))
    args = parser.parse_args()
    jobs = job_table(args.study)
    rows = []
    for experiment, group in sorted(jobs.groupby("experiment"), key=lambda g: -g[1].wall.max()):
        name = experiment if len(group) == 1 else f"{experiment} ({len(group)} shards, each)"
        rows.append([name, span(group.wall, 0), span(group.rss, 2)])
    wall, count = elapsed(args.study)
    rows.append(
        [
            f"the whole study, {count} jobs",
            f"{wall:,.0f} ({wall // 60:.0f} min {wall % 60:.0f} s)",
            "",
        ]
    )
    machine = (f"a {os.cpu_count()}-core machine, one thread per job; per job Snakemake's "
               "`benchmark:` files, the whole study its log's elapsed time")  # fmt: skip
    print(docs_blocks.write_table(args.json, ["training job", "wall, s", "peak RSS, GB"], rows,
                                  args.command, machine))  # fmt: skip


if __name__ == "__main__":
    main()

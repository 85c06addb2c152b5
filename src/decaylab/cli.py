"""``decaylab reproduce``: re-train recorded shards and say whether they come out bit-identical.

Run in a study's folder (where ``results/`` and ``data/`` are)::

    decaylab reproduce article_grid/sgd decoupling_adam/adam   # chosen shards
    decaylab reproduce --sample 3                              # three shards drawn at random

Each shard is re-trained from its recorded spec (``results/EXPERIMENT/shards/SHARD/spec.json``)
on its recorded data split, with the recorded threads, into a scratch folder; its parameters,
runs table and history are compared with the recorded ones exactly (every bit of every float).
The recorded outputs are only read. When a shard differs, the fields of its provenance that
differ (a package version, the CPU, the commit…) are named. Exit status 0 when every shard is
bit-identical, 1 when one is not, 2 for a usage error (a shard not found).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from decaylab import data, files, models, provenance

REPAIR = "train it first: snakemake --cores 8"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="decaylab", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    reproduce = commands.add_parser(
        "reproduce", help="re-train recorded shards and compare them bit for bit"
    )
    reproduce.add_argument("shards", nargs="*", help="EXPERIMENT/SHARD, as under results/")
    reproduce.add_argument("--sample", type=int, help="re-train this many shards drawn at random")
    reproduce.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    reproduce.add_argument("--results", default="results", help="the study's results folder")
    reproduce.add_argument("--data", default="data", help="the study's data folder")
    arguments = parser.parse_args(argv)
    results = Path(arguments.results)
    recorded = sorted(
        str(p.parent.relative_to(results)).replace("/shards/", "/")
        for p in results.glob("*/shards/*/provenance.json")
    )
    if arguments.sample is not None:
        if arguments.shards or arguments.sample < 1:
            parser.error("give shards or --sample N (N ≥ 1), not both")
        chosen = random.Random(arguments.seed).sample(
            recorded, min(arguments.sample, len(recorded))
        )
    else:
        chosen = arguments.shards
    if not chosen:
        parser.error(f"no shard to re-train: name some, or --sample N; recorded: {recorded}")
    unknown = [name for name in chosen if name not in recorded]
    if unknown:
        parser.error(
            f"{unknown[0]}: no trained shard with a provenance record under {results}/ "
            f"(recorded: {', '.join(recorded) or 'none'}); {REPAIR}"
        )
    groups: dict[tuple, list[str]] = {}  # a process starts one backend, with one thread count
    for name in chosen:
        recorded = _recorded(results, name)["provenance"]
        groups.setdefault((recorded["backend"], recorded.get("threads")), []).append(name)
    if len(groups) == 1 and os.environ.get("KERAS_BACKEND") in (None, next(iter(groups))[0]):
        os.environ["KERAS_BACKEND"] = next(iter(groups))[0]
        return _reproduce(chosen, results, Path(arguments.data))
    status = 0
    for (backend, _), names in groups.items():
        command = [sys.executable, "-m", "decaylab.cli", "reproduce", *names]
        command += ["--results", arguments.results, "--data", arguments.data]
        status = max(status, subprocess.call(command, env={**os.environ, "KERAS_BACKEND": backend}))
    return status


def _recorded(results: Path, name: str) -> dict:
    experiment, shard = name.split("/")
    folder = results / experiment / "shards" / shard
    return {
        "folder": folder,
        "spec": json.loads((folder / "spec.json").read_text()),
        "provenance": json.loads((folder / "provenance.json").read_text()),
    }


def _reproduce(names: list[str], results: Path, data_folder: Path) -> int:
    from decaylab import runner  # the backend starts here, as KERAS_BACKEND says

    status = 0
    with tempfile.TemporaryDirectory(prefix="decaylab-reproduce-") as scratch:
        for name in names:
            recorded = _recorded(results, name)
            spec, folder = recorded["spec"], recorded["folder"]
            if spec.get("device", "cpu") == "cpu":
                os.environ.setdefault("JAX_PLATFORMS", "cpu")
            split = data_folder / spec["dataset"] / "split.npz"
            if not split.is_file():
                print(f"{name}: cannot re-train: its data split {split} is missing; {REPAIR}")
                status = max(status, 2)
                continue
            parts = files.checked_npz(split, data.load_split, REPAIR)
            print(f"{name}: re-training {len(spec['runs'])} runs …", flush=True)
            again = runner.train(
                spec,
                parts.train,
                parts.test,
                validation=parts.validation,
                threads=recorded["provenance"].get("threads"),
                checkpoint=Path(scratch) / f"{name.replace('/', '-')}.npz",
                checkpoint_seconds=float("inf"),
            )
            mismatches = _compare(folder, again, Path(scratch) / name.replace("/", "-"))
            changed = provenance.differences(recorded["provenance"], again.provenance)
            if mismatches:
                status = max(status, 1)
                print(f"{name}: NOT bit-identical: {'; '.join(mismatches)}")
                print(
                    f"  provenance fields that differ: {'; '.join(changed)}"
                    if changed
                    else "  no provenance field differs"
                )
            else:
                also = f" (provenance differs: {'; '.join(changed)})" if changed else ""
                print(f"{name}: bit-identical (parameters, runs, history){also}")
    return status


def _compare(folder: Path, again, scratch: Path) -> list[str]:
    """What differs between a shard's recorded outputs and its re-training, bit for bit."""
    mismatches = []
    before = models.load_params(folder / "trained.npz")
    for i, (old, new) in enumerate(zip(before, again.params, strict=True)):
        for key in sorted(set(old) | set(new)):
            a, b = np.asarray(old.get(key)), np.asarray(new.get(key))
            if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                worst = np.nanmax(np.abs(a - b)) if a.shape == b.shape else "shape"
                mismatches.append(f"parameters layer{i}/{key} (max |Δ| {worst})")
    scratch.mkdir(parents=True, exist_ok=True)
    for table, frame in (("runs", again.runs), ("history", again.history)):
        files.write_csv(frame, scratch / f"{table}.csv")  # through CSV, as recorded
        old = pd.read_csv(folder / f"{table}.csv").drop(columns="provenance", errors="ignore")
        new = pd.read_csv(scratch / f"{table}.csv").drop(columns="provenance", errors="ignore")
        if list(old.columns) != list(new.columns) or len(old) != len(new):
            mismatches.append(f"{table}.csv has other columns or rows")
            continue
        differing = [c for c in old if not old[c].equals(new[c])]
        if differing:
            mismatches.append(f"{table}.csv differs in {', '.join(differing)}")
    return mismatches


if __name__ == "__main__":
    sys.exit(main())

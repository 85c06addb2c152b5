"""``decaylab reproduce``: re-train recorded shards and say whether they come out bit-identical.

Run in a study's folder (where ``results/`` and ``data/`` are)::

    decaylab reproduce article_grid/sgd decoupling_adam/adam   # chosen shards
    decaylab reproduce --sample 3                              # three shards drawn at random

Each batch of runs the shard's runs were trained in (a shard assembled from the store of trained
runs may have several: ``provenance.json``'s ``batches``) is re-trained from its spec in the store
(``STORE/batches/BATCH.json``) on the recorded data split, with the recorded threads, in a scratch
folder; the shard's parameters, runs table and history are compared with the re-trained ones
exactly (every bit of every float).
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
from decaylab.runner import METRICS
from decaylab.shard import HISTORY_COLUMNS
from decaylab.store import RunStore

_MEASURED = {*METRICS, *HISTORY_COLUMNS}
"""The columns a re-training is compared on: what it measured, not the labels of its runs."""

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
    reproduce.add_argument("--store", default="store", help="the store of trained runs")
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
        recorded = next(iter(_recorded(results, name)["provenance"]["records"].values()))
        groups.setdefault((recorded["backend"], recorded.get("threads")), []).append(name)
    if len(groups) == 1 and os.environ.get("KERAS_BACKEND") in (None, next(iter(groups))[0]):
        os.environ["KERAS_BACKEND"] = next(iter(groups))[0]
        return _reproduce(chosen, results, Path(arguments.data), Path(arguments.store))
    status = 0
    for (backend, _), names in groups.items():
        command = [sys.executable, "-m", "decaylab.cli", "reproduce", *names]
        command += ["--results", arguments.results, "--data", arguments.data]
        command += ["--store", arguments.store]
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


def _reproduce(names: list[str], results: Path, data_folder: Path, store_folder: Path) -> int:
    from decaylab import runner  # the backend starts here, as KERAS_BACKEND says

    store = RunStore(store_folder)
    status = 0
    with tempfile.TemporaryDirectory(prefix="decaylab-reproduce-") as scratch:
        for name in names:
            recorded = _recorded(results, name)
            spec, folder = recorded["spec"], recorded["folder"]
            if spec.get("device", "cpu") == "cpu":
                os.environ.setdefault("JAX_PLATFORMS", "cpu")
            split = data_folder / spec["dataset"] / "split.npz"
            batches = recorded["provenance"]["batches"]
            absent = [b for b in batches if not store.batch_path(b).is_file()]
            if not split.is_file() or absent:
                missing = split if not split.is_file() else store.batch_path(absent[0])
                print(f"{name}: cannot re-train: {missing} is missing; {REPAIR}")
                status = max(status, 2)
                continue
            parts = files.checked_npz(split, data.load_split, REPAIR)
            shard = _Recorded.read(folder)
            mismatches, changed = [], []
            for batch, info in batches.items():
                record = recorded["provenance"]["records"][info["provenance"]]
                print(f"{name}: re-training batch {batch} ({info['runs']} runs) …", flush=True)
                again = runner.train(
                    store.batch(batch),
                    parts.train,
                    parts.test,
                    validation=parts.validation,
                    threads=record.get("threads"),
                    checkpoint=Path(scratch) / f"{name.replace('/', '-')}.npz",
                    checkpoint_seconds=float("inf"),
                )
                scratch_folder = Path(scratch) / f"{name.replace('/', '-')}-{batch}"
                mismatches += shard.compare(batch, again, scratch_folder)
                again_record = next(iter(again.provenance["records"].values()))
                changed += provenance.differences(record, again_record)
            changed = sorted(set(changed))
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


class _Recorded:
    """A trained shard's recorded outputs: parameters, runs table and history."""

    def __init__(self, params, runs: pd.DataFrame, history: pd.DataFrame):
        self.params, self.runs, self.history = params, runs, history

    @classmethod
    def read(cls, folder: Path) -> _Recorded:
        return cls(
            models.load_params(folder / "trained.npz"),
            pd.read_csv(folder / "runs.csv"),
            pd.read_csv(folder / "history.csv"),
        )

    def compare(self, batch: str, again, scratch: Path) -> list[str]:
        """What differs, bit for bit, between the runs of ``batch`` as recorded in the shard
        and as re-trained (``again``, the batch's result), matched by their keys."""
        mine = self.runs[self.runs["batch"] == batch]
        position = {key: i for i, key in enumerate(again.runs["run_key"])}
        theirs = [position.get(key) for key in mine["run_key"]]
        if None in theirs:
            return [f"batch {batch} re-trained without some of the shard's runs"]
        mismatches = []
        for i, (old, new) in enumerate(zip(self.params, again.params, strict=True)):
            for key in sorted(set(old) | set(new)):
                a, b = np.asarray(old.get(key))[mine["run"]], np.asarray(new.get(key))[theirs]
                if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                    worst = np.nanmax(np.abs(a - b)) if a.shape == b.shape else "shape"
                    mismatches.append(f"parameters layer{i}/{key} (max |Δ| {worst})")
        scratch.mkdir(parents=True, exist_ok=True)
        for table, frame in (("runs", again.runs), ("history", again.history)):
            files.write_csv(frame, scratch / f"{table}.csv")  # through CSV, as recorded
            new = pd.read_csv(scratch / f"{table}.csv")
            old = getattr(self, table)
            old = old[old["run"].isin(mine["run"])].reset_index(drop=True)
            new = pd.concat([new[new["run"] == j] for j in theirs], ignore_index=True)
            compared = [c for c in new if c in _MEASURED]
            if list(old[compared].columns) != compared or len(old) != len(new):
                mismatches.append(f"{table}.csv has other columns or rows")
                continue
            differing = [c for c in compared if not old[c].equals(new[c])]
            if differing:
                mismatches.append(f"{table}.csv differs in {', '.join(differing)}")
        return mismatches


if __name__ == "__main__":
    sys.exit(main())

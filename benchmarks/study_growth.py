"""What growing a finished study costs: a seed or a λ value added against the grown config
trained from scratch, in one run.

    python benchmarks/study_growth.py [--experiment decoupling_sgd] [--repeats 3] [--cores 2]

The experiment (of ``config/config.yaml``, with its data set) is trained alone in a fresh copy of
the workflow; then, per repetition and side by side: the finished study grown by one seed, and
by one λ value per regularization kind (the largest times the grid's last ratio), each trained
with the store of trained runs the finished study left; the two grown configs trained from
scratch (fresh copies: no store, no compilation cache); and a one-run shard of the same
experiment from scratch, ``s`` (process start, data, compilation). Each time is the
``train_shard`` job's own ``benchmark:`` wall (median over the repetitions). The target of a
growth by n new runs of N: ``wall(grow) ≤ 1.3 · (n/N) · (wall(scratch) − s) + s``.

Prints the table and writes it to ``docs/performance/study_growth.json`` (``--json``), the
source of the store page's table.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from decaylab import docs_blocks, grid, provenance  # noqa: E402


def workflow_copy(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Snakefile", folder)
    for part in ("workflow", "profiles"):
        shutil.copytree(REPO / part, folder / part, dirs_exist_ok=True)
    (folder / "config").mkdir(exist_ok=True)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def train(workdir: Path, experiment: str, cores: int) -> float:
    """Train the experiment's shard; the ``train_shard`` job's wall from its benchmark file."""
    (shard,) = grid.shards(experiment, yaml.safe_load((workdir / "config/config.yaml").read_text())
                           ["experiments"][experiment])  # fmt: skip
    target = f"results/{experiment}/shards/{shard.name}/runs.csv"
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", str(cores), target],
        cwd=workdir, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"snakemake in {workdir} failed:\n{done.stderr[-3000:]}")
    tsv = workdir / f"results/benchmarks/train_shard/{experiment}/{shard.name}.tsv"
    with open(tsv) as stream:
        return float(next(csv.DictReader(stream, delimiter="\t"))["s"])


def configs(experiment: str) -> dict[str, dict]:
    """The finished study's config, its two growths and the one-run config."""
    full = yaml.safe_load((REPO / "config/config.yaml").read_text())
    settings = full["experiments"][experiment]
    base = {
        "datasets": {settings["dataset"]: full["datasets"][settings["dataset"]]},
        "experiments": {experiment: settings},  # only its training job runs
    }

    def with_(**changes):
        changed = {**base["experiments"][experiment], **changes}
        return {
            **base,
            "experiments": {experiment: {k: v for k, v in changed.items() if v is not None}},
        }

    regularization = settings["regularization"]
    strengths = regularization["strength"]

    def one_more(values):
        return [*values, values[-1] * values[-1] / values[-2]]

    wider = {k: one_more(v) for k, v in strengths.items()} if isinstance(strengths, dict) else (
        one_more(strengths))  # fmt: skip
    first = {k: v[:1] for k, v in strengths.items()} if isinstance(strengths, dict) else (
        strengths[:1])  # fmt: skip
    kinds = grid.as_list(regularization["kind"])
    one_kind = {k: v for k, v in first.items() if k == kinds[0]} if isinstance(first, dict) else (
        first)  # fmt: skip
    return {
        "base": base,
        "seed": with_(seeds=[*settings["seeds"], max(settings["seeds"]) + 1]),
        "strength": with_(regularization={**regularization, "strength": wider}),
        "one run": with_(  # no prediction and no figure: a one-run grid has no slope
            expect=None,
            figures={},
            seeds=settings["seeds"][:1],
            learning_rate=grid.as_list(settings["learning_rate"])[:1],
            regularization={**regularization, "kind": kinds[0], "strength": one_kind},
        ),
    }


def runs_of(config: dict, experiment: str) -> int:
    return sum(len(s.runs) for s in grid.shards(experiment, config["experiments"][experiment]))


def measure(experiment: str, repeats: int, cores: int) -> dict[str, list[float]]:
    plans = configs(experiment)
    walls: dict[str, list[float]] = {}
    for repeat in range(repeats):
        with tempfile.TemporaryDirectory(prefix="decaylab-growth-") as scratch:
            scratch = Path(scratch)
            finished = workflow_copy(scratch / "finished", plans["base"])
            walls.setdefault("base from scratch", []).append(train(finished, experiment, cores))
            for growth in ("seed", "strength"):
                grown = scratch / f"grown_{growth}"
                shutil.copytree(finished, grown, symlinks=True)
                workflow_copy(grown, plans[growth])
                walls.setdefault(f"grow: {growth}", []).append(train(grown, experiment, cores))
                fresh = workflow_copy(scratch / f"fresh_{growth}", plans[growth])
                walls.setdefault(f"scratch: {growth}", []).append(train(fresh, experiment, cores))
            alone = workflow_copy(scratch / "one_run", plans["one run"])
            walls.setdefault("one run", []).append(train(alone, experiment, cores))
        print(f"repetition {repeat + 1} of {repeats} done", file=sys.stderr, flush=True)
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", default="decoupling_sgd")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--json", default=str(REPO / "docs/performance/study_growth.json"))
    arguments = parser.parse_args()
    walls = measure(arguments.experiment, arguments.repeats, arguments.cores)
    median = {name: statistics.median(values) for name, values in walls.items()}
    plans = configs(arguments.experiment)
    base_runs = runs_of(plans["base"], arguments.experiment)
    s = median["one run"]
    rows = [["one-run shard from scratch (s)", "1 of 1", f"{s:.1f}", "", ""]]
    rows.append(["finished study from scratch", f"{base_runs:,} of {base_runs:,}",
                 f"{median['base from scratch']:.1f}", "", ""])  # fmt: skip
    for growth, label in (("seed", "one seed added"), ("strength", "one λ per kind added")):
        total = runs_of(plans[growth], arguments.experiment)
        new = total - base_runs
        scratch = median[f"scratch: {growth}"]
        bound = 1.3 * new / total * (scratch - s) + s
        grow = median[f"grow: {growth}"]
        rows.append([f"grown config from scratch ({label})", f"{total:,} of {total:,}",
                     f"{scratch:.1f}", "", ""])  # fmt: skip
        rows.append([f"finished study grown: {label}", f"{new:,} of {total:,}", f"{grow:.1f}",
                     f"{bound:.1f}", f"{grow / bound:.2f}"])  # fmt: skip
    command = (
        f"python benchmarks/study_growth.py --experiment {arguments.experiment} "
        f"--repeats {arguments.repeats} --cores {arguments.cores}"
    )
    measured_on = f"{provenance.cpu_model()}, snakemake --cores {arguments.cores}"
    print(
        docs_blocks.write_table(
            arguments.json,
            ["training job", "runs trained", "wall (s), median", "target (s)", "wall / target"],
            rows,
            command,
            measured_on,
            note=f"each the train_shard job's benchmark wall, median of {arguments.repeats}; "
            "target 1.3·(n/N)·(wall(scratch) − s) + s",
        )
    )


if __name__ == "__main__":
    main()

"""Coverage and bias of the judged λ*-slope estimator, simulated on each claim's own grid.

    python benchmarks/interval_coverage.py [--config CONFIG] [--study FOLDER] [--draws 1000]
                                           [--refine POINTS ROUNDS]

Starts from a finished study of ``--config`` in the folder ``--study`` (its
``results/tables/EXPERIMENT/runs.csv`` and data split). For every slope claim with an estimate
(two or more rows admitted), the basin's curvature, seed noise, seed shift, seed offset and
centre are measured on its real runs (:func:`decaylab.calibration.measure_basin`), and synthetic
surfaces on the claim's own grid of x and λ, with its number of seeds and its gates, are drawn
with the true slope set to the prediction and to each rival, with a symmetric basin and with one
flat side (r = 0.1: curvature ten times smaller below λ*). Prints per setting the coverage of the
nominal 90 % and 95 % intervals (target: within ±3 points), the bias (target < 0.05), the spread
of the estimate and the median 95 % width, and writes ``docs/performance/interval_coverage.json``
(``--json``), the source of the method page's table. The window and the rows are chosen by the
estimator's own gates in every draw, so that selection is part of what is measured; coverage is
among the draws with an estimate (their share is the last column). An experiment with refinement
rounds (``refine``), or every claim with ``--refine POINTS ROUNDS``, is simulated with its adaptive
grid: the config's grid, then each round's values placed on the draw's own seed means
(:func:`decaylab.calibration.simulate_refined`), so that the adaptation is part of what is measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from decaylab import calibration, data, docs_blocks, expect, inference, optima

ROOT = Path(__file__).resolve().parents[1]


def design_grid(surface: optima.Surface, decay: float | None):
    """The grid a claim's rows are judged on: the config's (``surface``: round 0), restricted
    per row to the λ whose every seed reached the ``decay`` gate, and per row whether it may grow
    below and above (not past the gate's edge)."""
    if decay is None:
        return surface.strengths, None
    restricted = inference.equilibrium_grid(surface, decay).strengths
    extend = [(bool(np.nanmin(r) == np.nanmin(s)), bool(np.nanmax(r) == np.nanmax(s)))
              if np.isfinite(r).any() else (True, True)
              for r, s in zip(restricted, surface.strengths, strict=True)]  # fmt: skip
    return restricted, extend


def claim_settings(config: dict, study: Path, refine: dict | None):
    """Per slope claim of ``config``: its experiment, group, gates, prediction and rivals, the
    surface and estimate of its real runs (every round), the config's grid (round 0), the cap,
    and its refinement rounds (``refine`` for every claim where given)."""
    for name, experiment in config["experiments"].items():
        claim = experiment.get("expect", {}).get("slope")
        if not claim:
            continue
        runs = pd.read_csv(study / f"results/tables/{name}/runs.csv")
        metric = experiment.get("select", "validation_loss")
        gates = inference.Gates.of(claim)
        rounds = refine or experiment.get("refine")
        if rounds and "round" in runs:  # the basin is measured, and the simulation starts,
            runs = runs[runs["round"] == 0]  # on the config's grid
        grids = {
            tuple(s.key): design_grid(s, gates.decay)
            for s in optima.surfaces(runs, claim["x"], metric, optima.groups_of(runs, claim["x"]))
        }
        parts = data.load_split(study / f"data/{experiment['dataset']}/split.npz")
        train, validation = parts.train, parts.validation
        nothing = optima.learned_nothing(metric, train.y, validation.y, train.task)
        worst, untrained = optima.references(metric, nothing)
        predicted = {g: (p, r) for g, p, r in expect.predictions({"slope": claim})}
        groups = optima.groups_of(runs, claim["x"])
        for surface in optima.surfaces(runs, claim["x"], metric, groups):
            group = surface.key[0] if surface.key else None
            if group not in predicted:
                continue
            estimate = inference.estimate_group(surface, gates, worst, untrained)
            if estimate.admitted.sum() < 2:  # no estimate on the real runs: nothing to mimic
                continue
            grid, extend = grids[tuple(surface.key)]
            grown = {**rounds, "extend": extend} if rounds else None
            yield name, group, gates, predicted[group], surface, estimate, grid, worst, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    parser.add_argument("--study", type=Path, default=ROOT)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--json", default=str(ROOT / "docs/performance/interval_coverage.json"))
    parser.add_argument("--refine", type=int, nargs=2, metavar=("POINTS", "ROUNDS"))
    args = parser.parse_args()
    refine = dict(zip(("points", "rounds"), args.refine, strict=True)) if args.refine else None
    config = yaml.safe_load(Path(args.config).read_text())
    rows, started = [], time.perf_counter()
    for setting in claim_settings(config, args.study, refine):
        name, group, gates, (prediction, rivals), surface, estimate, grid, worst, rounds = setting
        basin = calibration.measure_basin(estimate, surface, worst, gates.window)
        seeds = surface.values.shape[2]
        real_spread = np.std(estimate.seed_slopes(), ddof=1)
        for truth in (prediction, *rivals):
            for flatness in (1.0, 0.1):
                shaped = dataclasses.replace(basin, flatness=flatness)
                # the grid is restricted by D already; the simulated runs carry no norm drift
                ungated = dataclasses.replace(gates, decay=None, drift=None)
                found = calibration.coverage(
                    surface.xs, grid, truth, shaped, seeds, args.draws, ungated, refine=rounds
                )
                grown = f", +{rounds['rounds']}×{rounds['points']} λ per row" if rounds else ""
                grown += ", decay-gated grid" if gates.decay is not None else ""
                rows.append(
                    [
                        f"{name} · {group}" if group else name,
                        f"{truth:+g}",
                        ("symmetric" if flatness == 1 else "flat side") + grown,
                        f"{found['coverage90']:.3f}",
                        f"{found['coverage95']:.3f}",
                        f"{found['bias']:+.3f}",
                        f"{found['spread'] * np.sqrt(seeds):.2f} ({real_spread:.2f})",
                        f"{found['width95']:.2f}",
                        f"{found['estimated']:.3f}",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
    columns = [
        "claim",
        "true slope",
        "basin",
        "coverage 90 %",
        "coverage 95 %",
        "bias",
        "seeds' slope s.d., simulated (real)",
        "median 95 % width",
        "draws with an estimate",
    ]
    config_name = (
        Path(args.config).relative_to(ROOT) if Path(args.config).is_absolute() else args.config
    )
    command = f"python benchmarks/interval_coverage.py --config {config_name} --draws {args.draws}"
    command += f" --refine {args.refine[0]} {args.refine[1]}" if args.refine else ""
    seconds = time.perf_counter() - started
    machine = f"a {os.cpu_count()}-core {platform.machine()} machine in {seconds:.0f} s"
    note = (
        f"{args.draws} draws per row; the basin's curvature, seed noise and seed shift measured on "
        "the claim's real runs, its own grid, seeds and gates. 'flat side': the curvature below "
        "λ* ten times smaller. The simulated noise is independent per point, so its seeds' slopes "
        "may spread more than the real ones (in parentheses)."
    )
    print(docs_blocks.write_table(args.json, columns, rows, command, machine, note=note))


if __name__ == "__main__":
    main()

"""The default study's claims under TensorFlow and under JAX, side by side.

    python benchmarks/backend_verdicts.py TENSORFLOW_STUDY JAX_STUDY

Each argument is the folder of a finished study of the same config (the same settings and
seeds), one trained with ``KERAS_BACKEND=tensorflow``, one with ``KERAS_BACKEND=jax``; the
claims are read from each experiment's ``results/tables/EXPERIMENT/claims.csv`` (or
``equilibrium_claims.csv``). A round-off perturbation may make a verdict inconclusive but should
never move it between agrees and disagrees, nor an identity check between holds and fails: the
table says, per claim, whether it did, and how far each estimate moved in combined standard
errors (a move of many is not seed noise: the estimator amplifies round-off there). Writes
``docs/performance/backend_verdicts.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from decaylab import claims, docs_blocks

ROOT = Path(__file__).resolve().parents[1]
OPPOSITE = {frozenset({claims.AGREES, claims.DISAGREES})}


def study_claims(folder: Path) -> pd.DataFrame:
    """Every experiment's judged claims in the study at ``folder``."""
    paths = sorted((folder / "results/tables").glob("*/claims.csv"))
    paths += sorted((folder / "results/tables").glob("*/equilibrium_claims.csv"))
    frames = [claims.read(p) for p in paths if p.stat().st_size]
    return pd.concat([f for f in frames if len(f)], ignore_index=True)


def standard_error(row) -> float:
    """The standard error of a claim's estimate: its seeds' slopes' s.d. over √S."""
    slopes = np.array([float(v) for v in str(row["seed_slopes"]).split()], dtype=float)
    slopes = slopes[np.isfinite(slopes)]
    return float(np.std(slopes, ddof=1) / np.sqrt(len(slopes))) if len(slopes) > 1 else np.nan


def shift(tf, jax) -> str:
    """How far the estimate moved between the backends, in combined standard errors."""
    error = np.hypot(standard_error(tf), standard_error(jax))
    moved = jax["slope"] - tf["slope"]
    if not np.isfinite(moved):
        return "—"
    return f"{moved:+.2f} ({moved / error:+.1f} s.e.)" if error > 0 else f"{moved:+.2f}"


def moves(opposite: bool, flipped: bool, tf, jax) -> str:
    """What moved between the backends: the verdict across, an identity check, the estimate by
    more than three combined standard errors."""
    error = np.hypot(standard_error(tf), standard_error(jax))
    far = bool(error > 0 and abs(jax["slope"] - tf["slope"]) > 3 * error)
    found = [
        text
        for text, moved in (
            ("agrees ↔ disagrees", opposite),
            ("an identity check", flipped),
            ("the estimate, > 3 s.e.", far),
        )
        if moved
    ]
    return "; ".join(found) or "no"


def held(identity: str) -> str:
    """The identity checks of a claim, each as holds or fails."""
    if not identity:
        return "—"
    return ", ".join(
        "not computable" if "not computable" in part else part.rsplit(": ", 1)[-1]
        for part in identity.split("; ")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tensorflow", type=Path)
    parser.add_argument("jax", type=Path)
    parser.add_argument("--json", default=str(ROOT / "docs/performance/backend_verdicts.json"))
    args = parser.parse_args()
    both = study_claims(args.tensorflow).merge(
        study_claims(args.jax), on=["experiment", "group"], suffixes=("_tf", "_jax")
    )
    rows = []
    for _, row in both.iterrows():
        tf, jax = (row.rename(lambda c, s=s: c.removesuffix(s)) for s in ("_tf", "_jax"))
        opposite = frozenset({tf["verdict"], jax["verdict"]}) in OPPOSITE
        flipped = held(tf["identity"]) != held(jax["identity"])
        rows.append(
            [
                f"{row['experiment']} · {row['group']}" if row["group"] else row["experiment"],
                f"{claims.interval_text(tf, 90)} {tf['verdict']}",
                f"{claims.interval_text(jax, 90)} {jax['verdict']}",
                shift(tf, jax),
                held(tf["identity"]),
                held(jax["identity"]),
                moves(opposite, flipped, tf, jax),
            ]
        )
    columns = ["claim", "TensorFlow [90 %]", "JAX [90 %]", "JAX − TF", "identities (TF)"]
    columns.append("identities (JAX)")
    columns.append("moved?")
    command = "python benchmarks/backend_verdicts.py TENSORFLOW_STUDY JAX_STUDY"
    machine = f"a {os.cpu_count()}-core {platform.machine()} machine"
    print(docs_blocks.write_table(args.json, columns, rows, command, machine,
                                  align=["left"] * len(columns)))  # fmt: skip


if __name__ == "__main__":
    main()

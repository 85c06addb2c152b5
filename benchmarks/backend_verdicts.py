"""The default study's claims under TensorFlow and under JAX, side by side.

    python benchmarks/backend_verdicts.py TENSORFLOW_STUDY JAX_STUDY

Each argument is the folder of a finished study of the same config (the same settings and
seeds), one trained with ``KERAS_BACKEND=tensorflow``, one with ``KERAS_BACKEND=jax``; the
claims are read from each experiment's ``results/tables/EXPERIMENT/claims.csv`` (or
``equilibrium_claims.csv``). A round-off perturbation may make a verdict inconclusive but should
never move it between agrees and disagrees, nor an identity check between holds and fails: the
table says, per claim, whether it did. Writes ``docs/performance/backend_verdicts.json``.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

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


def held(identity: str) -> str:
    """The identity checks of a claim, each as holds or fails."""
    return ", ".join(part.rsplit(": ", 1)[-1] for part in identity.split("; ")) if identity else "—"


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
                held(tf["identity"]),
                held(jax["identity"]),
                "agrees ↔ disagrees" if opposite else ("identity moved" if flipped else "no"),
            ]
        )
    columns = ["claim", "TensorFlow [90 %]", "JAX [90 %]", "identities (TF)", "identities (JAX)"]
    columns.append("moved?")
    command = "python benchmarks/backend_verdicts.py TENSORFLOW_STUDY JAX_STUDY"
    print(docs_blocks.write_table(args.json, columns, rows, command, platform.machine(),
                                  align=["left"] * len(columns)))  # fmt: skip


if __name__ == "__main__":
    main()

"""Draw one figure of one experiment (PNG and SVG)."""

import os
import sys

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from decaylab import data, figures  # noqa: E402

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

tables = {
    name: pd.read_csv(getattr(snakemake.input, name))
    for name in ("runs", "summary", "history", "curves")
}
options = snakemake.params.options if isinstance(snakemake.params.options, dict) else {}
train, test = data.load_split(snakemake.input.split)
figure = figures.draw(snakemake.wildcards.figure, tables, train, test, **options)
figure.savefig(snakemake.output.png, dpi=130, bbox_inches="tight")
figure.savefig(snakemake.output.svg, bbox_inches="tight")

"""Draw one figure of one experiment (PNG and SVG)."""

import os
import sys

import matplotlib

matplotlib.use("Agg")

from decaylab import data, figures, files  # noqa: E402

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

REPAIR = "repair it with: snakemake --cores 8 --forcerun aggregate_experiment"
tables = {
    name: files.read_csv(getattr(snakemake.input, name), repair=REPAIR)
    for name in ("summary", "history", "curves")
}
tables["runs"] = files.read_csv(
    snakemake.input.runs, rows=snakemake.params.planned_runs, repair=REPAIR
)
for name, path in zip(("optima", "slopes"), snakemake.input.optimum, strict=False):
    tables[name] = files.read_csv(path, repair="snakemake --cores 8 --forcerun optimum_slopes")
options = dict(snakemake.params.options)
parts = files.checked_npz(
    snakemake.input.split,
    data.load_split,
    "regenerate it: snakemake --cores 8 --forcerun split_data",
)
if snakemake.wildcards.figure == "fit":
    options = {
        **options,
        "model": snakemake.params.model,
        "truth": data.truth(**snakemake.params.source),
    }
figure = figures.draw(snakemake.wildcards.figure, tables, parts.train, parts.test, **options)
for path, extra in ((snakemake.output.png, {"dpi": 130}), (snakemake.output.svg, {})):
    with files.atomic(path) as temporary:
        figure.savefig(temporary, bbox_inches="tight", **extra)

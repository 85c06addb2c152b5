"""Draw one figure of one experiment (PNG and SVG) from the inputs its kind declares."""

import os
import sys

import matplotlib

matplotlib.use("Agg")

from decaylab import data, figures, files  # noqa: E402

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2


def csv_of(rule):
    """How a table that ``rule`` writes is read: checked, with its repair."""
    repair = f"repair it with: snakemake --cores 8 --forcerun {rule}"
    return lambda path: files.read_csv(path, repair=repair)


READERS = {  # how each input a figure kind declares is read
    "runs": lambda path: files.read_csv(
        path,
        rows=snakemake.params.planned_runs,
        repair="repair it with: snakemake --cores 8 --forcerun aggregate_experiment",
    ),
    "summary": csv_of("aggregate_experiment"),
    "history": csv_of("aggregate_experiment"),
    "curves": csv_of("aggregate_experiment"),
    "optima": csv_of("optimum_slopes"),
    "slopes": csv_of("optimum_slopes"),
    "equilibrium_slope": csv_of("equilibrium_slope"),
    "split": lambda path: files.checked_npz(
        path, data.load_split, "regenerate it: snakemake --cores 8 --forcerun split_data"
    ),
}
inputs = {name: READERS[name](path) for name, path in snakemake.input.items() if name != "plans"}
options = {**snakemake.params.options, **snakemake.params.settings}
figure = figures.make(snakemake.wildcards.figure, inputs, **options)
for path, extra in ((snakemake.output.png, {"dpi": 130}), (snakemake.output.svg, {})):
    with files.atomic(path) as temporary:
        figure.savefig(temporary, bbox_inches="tight", **extra)

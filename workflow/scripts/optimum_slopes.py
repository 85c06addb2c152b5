"""The best strength λ* per value of a setting, and the slope of log λ* on its log."""

import os
import sys

from decaylab import files, optima

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

runs = files.read_csv(
    snakemake.input.runs, repair="snakemake --cores 8 --forcerun aggregate_experiment"
)
x, metric = snakemake.params.x, snakemake.params.select
files.write_csv(optima.optima(runs, x, metric), snakemake.output.optima)
slopes = optima.slopes(runs, x, metric)
files.write_csv(slopes, snakemake.output.slopes)
print(slopes.to_string(), file=sys.stderr)

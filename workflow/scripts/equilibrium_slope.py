"""The slope of the effective learning rate η/‖w‖² on η·λ over the equilibrated runs."""

import os
import sys

from decaylab import equilibrium, files

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

runs = files.read_csv(
    snakemake.input.runs, repair="snakemake --cores 8 --forcerun aggregate_experiment"
)
slope = equilibrium.slope(runs)
files.write_csv(slope, snakemake.output.slope)
print(slope.to_string(), file=sys.stderr)

"""The slope of the effective learning rate η/‖w‖² on η·λ over the equilibrated runs, and its
claim."""

import os
import sys

import pandas as pd

from decaylab import claims, equilibrium, files

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

runs = files.read_csv(
    snakemake.input.runs, repair="snakemake --cores 8 --forcerun aggregate_experiment"
)
measure = equilibrium.measure(runs)
expect = snakemake.params.expect
files.write_csv(measure(None).primary, snakemake.output.slope)
judged = (
    claims.judge(snakemake.wildcards.experiment, expect, measure)
    if "equilibrium" in expect
    else pd.DataFrame(columns=claims.COLUMNS)
)
files.write_csv(judged, snakemake.output.claims)
print(judged.to_string(), file=sys.stderr)

"""The equilibrium's statistic over the equilibrated runs (the effective rate's slope, or the
angular update's slope and constant), and its claim."""

import os
import sys

import pandas as pd

from decaylab import claims, equilibrium, files, inference

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

runs = files.read_csv(
    snakemake.input.runs, repair="snakemake --cores 8 --forcerun aggregate_experiment"
)
expect = snakemake.params.expect
claim = expect.get("equilibrium", {})
measure = equilibrium.measure(runs, claim.get("statistic", "effective_rate"))
files.write_csv(measure(inference.Gates.of(claim)).primary, snakemake.output.slope)
judged = (
    claims.judge(snakemake.wildcards.experiment, expect, measure, int(runs["round"].max()))
    if "equilibrium" in expect
    else pd.DataFrame(columns=claims.COLUMNS)
)
files.write_csv(judged, snakemake.output.claims)
print(judged.to_string(), file=sys.stderr)

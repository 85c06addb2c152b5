"""The statistics of λ*'s basin per value of a setting, and their slopes on its log."""

import os
import sys

from decaylab import data, files, optima, report_pages

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

runs = files.read_csv(
    snakemake.input.runs, repair="snakemake --cores 8 --forcerun aggregate_experiment"
)
parts = files.checked_npz(
    snakemake.input.split,
    data.load_split,
    "regenerate it: snakemake --cores 8 --forcerun split_data",
)
x, metric = snakemake.params.x, snakemake.params.select
nothing = optima.learned_nothing(metric, parts.train.y, parts.validation.y, parts.train.task)
files.write_csv(optima.basin_table(runs, x, metric, nothing), snakemake.output.optima)
slopes = optima.slopes(runs, x, metric, nothing)
files.write_csv(slopes, snakemake.output.slopes)
with files.atomic(snakemake.output.page) as temporary:
    temporary.write_text(
        report_pages.table_page(
            f"{snakemake.wildcards.experiment}: slopes of log λ* on log {x}",
            f"Each statistic of λ*'s basin ({'; '.join(optima.STATISTICS.values())}), chosen on "
            f"{metric}; a network that learned nothing scores {nothing.metric:.4g}. Fitted over "
            "the converged values of x whose statistic is inside the grid; 95 % percentile "
            "bootstrap interval over seeds.",
            slopes,
        )
    )
print(slopes.to_string(), file=sys.stderr)

"""Every experiment's predictions against its measured slopes: the study's claims and verdicts."""

import os
import sys
from pathlib import Path

import pandas as pd

from decaylab import claims, files, report_pages

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

table = pd.concat(
    [
        claims.judge(
            Path(path).parent.name,
            snakemake.params.expects[Path(path).parent.name],
            files.read_csv(path, repair="snakemake --cores 8 --forcerun optimum_slopes"),
        )
        for path in snakemake.input.slopes
    ],
    ignore_index=True,
)
files.write_csv(table, snakemake.output.claims)
with files.atomic(snakemake.output.page) as temporary:
    temporary.write_text(
        report_pages.table_page(
            "What theory predicted, what was measured, and the verdict",
            "Per prediction (an experiment's expect) and statistic of λ*'s basin: the slope of "
            "log λ* on log x with its 95 % bootstrap interval over seeds. agrees: the interval "
            "meets prediction ± margin and no rival ± margin; disagrees: it misses prediction "
            "± margin; inconclusive: otherwise, or no interval. n_fitted of n_x values of x "
            "entered the fit (n_unconverged did not train, n_flagged lay on the grid's edge).",
            table,
        )
    )
print(table.to_string(), file=sys.stderr)

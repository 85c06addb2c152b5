"""λ*'s basin per value of a setting, the slopes of its statistics, and the experiment's claims."""

import os
import sys

import pandas as pd

from decaylab import claims, data, files, inference, optima, report_pages

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
x, metric, expect = snakemake.params.x, snakemake.params.select, snakemake.params.expect
nothing = optima.learned_nothing(metric, parts.train.y, parts.validation.y, parts.train.task)
gates = inference.Gates.of(expect["slope"]) if "slope" in expect else inference.Gates()
basins, slopes, measure = inference.optimum_tables(runs, x, metric, nothing, gates)
files.write_csv(basins, snakemake.output.optima)
files.write_csv(slopes, snakemake.output.slopes)
rounds = int(runs["round"].max())  # refinement rounds (decaylab.refine); 0: the config's grid
unrefined = inference.measure(runs[runs["round"] == 0], x, metric, nothing) if rounds else None
judged = (
    claims.judge(snakemake.wildcards.experiment, expect, measure, rounds, unrefined)
    if "slope" in expect
    else pd.DataFrame(columns=claims.COLUMNS)
)
files.write_csv(judged, snakemake.output.claims)
with files.atomic(snakemake.output.page) as temporary:
    temporary.write_text(
        report_pages.table_page(
            f"{snakemake.wildcards.experiment}: slopes of ln λ* on ln {x}",
            f"Chosen on {metric}; a network that learned nothing scores {nothing.metric:.4g}. "
            "vertex (the judged statistic): per seed, the minimum of a least-squares quadratic "
            f"in ln λ over {gates.window} grid steps either side of the seed-mean arg-min, its "
            "slope on ln x over the rows every gate admits, the seeds' mean with Student-t "
            "intervals. Exploratory, no interval: "
            f"{'; '.join(optima.STATISTICS.values())}, of the seed-mean basin.",
            slopes,
        )
    )
print(slopes.to_string(), file=sys.stderr)

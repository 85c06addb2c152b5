"""Write one experiment's TensorBoard HParams logs from its tables."""

import os
import sys

from decaylab import files, hparams_log

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

REPAIR = "repair it with: snakemake --cores 8 --forcerun aggregate_experiment"
runs = files.read_csv(snakemake.input.runs, repair=REPAIR)
history = files.read_csv(snakemake.input.history, repair=REPAIR)
written = hparams_log.write(runs, history, snakemake.output.logs)
print(f"{written} runs logged to {snakemake.output.logs}", file=sys.stderr)

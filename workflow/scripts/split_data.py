"""Split one data set into training, validation and test parts, and prepare them."""

import os
import sys

from decaylab import data, files

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

parts = data.split_dataset(data.load_dataset(snakemake.input.dataset), **snakemake.params.split)
with files.atomic(snakemake.output.split) as temporary:
    data.save_split(temporary, parts)
sizes = ", ".join(
    f"{len(part.y)} {name} rows"
    for name, part in zip(data.PARTS, parts, strict=True)
    if part is not None
)
print(f"{sizes}; options {snakemake.params.split}", file=sys.stderr)

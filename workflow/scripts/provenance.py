"""Gather the shards' provenance records into the study's file and the report's table."""

import json
import os
import sys
from pathlib import Path

from decaylab import files, provenance

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

records = {  # by EXPERIMENT/SHARD, as `decaylab reproduce` names them
    f"{Path(path).parents[2].name}/{Path(path).parent.name}": json.loads(Path(path).read_text())
    for path in snakemake.input.shards
}
study = provenance.gather(records)
with files.atomic(snakemake.output.records) as temporary:
    temporary.write_text(json.dumps(study, indent=1, sort_keys=True))
with files.atomic(snakemake.output.table) as temporary:
    temporary.write_text(provenance.html_table(study))
if len(study["records"]) > 1:
    print(
        f"the study's shards were trained under {len(study['records'])} provenances; "
        "see results/provenance.json",
        file=sys.stderr,
    )

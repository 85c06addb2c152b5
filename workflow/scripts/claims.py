"""Every experiment's judged claims, stamped with what was fixed when: the study's claims table,
its page and its forest plot."""

import io
import json
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from decaylab import claims, claims_page, files, timeline  # noqa: E402
from decaylab.figures import drawing, forest  # noqa: E402
from decaylab.figures.drawing import forest as forest_drawing  # noqa: E402

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

table = pd.concat(
    [
        claims.read(path) if Path(path).stat().st_size else pd.DataFrame(columns=claims.COLUMNS)
        for path in snakemake.input.claims
    ],
    ignore_index=True,
)
study = json.loads(Path(snakemake.input.provenance).read_text())
table = timeline.stamp(table, list(snakemake.params.config_files), study)
files.write_csv(table, snakemake.output.claims)

drawing.theme()
figure = forest_drawing.draw(forest.prepare(table))
for path, extra in ((snakemake.output.forest, {"dpi": 130}), (snakemake.output.forest_svg, {})):
    with files.atomic(path) as temporary:
        figure.savefig(temporary, bbox_inches="tight", **extra)
svg = io.StringIO()
figure.savefig(svg, format="svg", bbox_inches="tight")
with files.atomic(snakemake.output.page) as temporary:
    temporary.write_text(claims_page.page(table, svg.getvalue(), claims.status(table)))
print(table.to_string(), file=sys.stderr)

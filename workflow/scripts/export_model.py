"""Save an experiment's selected run (its lowest seed) as a Keras model, with what it is."""

import json
import os
import sys
from pathlib import Path

from decaylab import data, files, models, runner, tables

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115
os.dup2(sys.stderr.fileno(), 2)  # native libraries log to file descriptor 2

REPAIR = "repair it with: snakemake --cores 8 --forcerun aggregate_experiment"
runs = files.read_csv(snakemake.input.runs, repair=REPAIR)
summary = files.read_csv(snakemake.input.summary, repair=REPAIR)
chosen = tables.selected_runs(runs, summary)
if chosen.empty:
    raise SystemExit(f"{snakemake.input.summary}: no setting is selected (every run diverged?)")
row = chosen.iloc[0]
folder = Path(snakemake.params.shards) / row["shard"]
shard = json.loads((folder / "spec.json").read_text())
if shard.get("backend"):
    os.environ["KERAS_BACKEND"] = shard["backend"]
from decaylab import export  # noqa: E402  (after the backend is chosen)

split = files.checked_npz(f"data/{shard['dataset']}/split.npz", data.load_split)
stacked = files.checked_npz(folder / "trained.npz", models.load_params)
weights = export.run_weights(stacked, int(row["run"]))
model = export.keras_model(runner.model_spec(shard), weights, split.train.input_shape)
with files.atomic(snakemake.output.model) as temporary:
    model.save(temporary)
described = {
    "experiment": row["experiment"],
    "shard": row["shard"],
    "run": int(row["run"]),
    "seed": int(row["seed"]),
    "settings": {
        c: row[c].item() if hasattr(row[c], "item") else row[c]
        for c in tables.SETTINGS
        if c in row and chosen[c].notna().any()
    },
    "selected_by": summary["selected_by"].iloc[0],
    "inputs": f"rows of data/{shard['dataset']}/split.npz (x_train, x_validation, x_test)",
    "outputs": "class logits (softmax for probabilities)"
    if split.train.task == data.CLASSIFICATION
    else "the regression output",
}
with files.atomic(snakemake.output.description) as temporary:
    temporary.write_text(json.dumps(described, indent=1))
print(f"{row['experiment']}: run {int(row['run'])} of shard {row['shard']} saved", file=sys.stderr)

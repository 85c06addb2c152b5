"""TensorBoard HParams logs of an experiment's runs, written without TensorFlow.

``tensorboard --logdir results/tensorboard`` then shows every run with its settings (the
HParams dashboard: table, parallel coordinates, scatter plots), its final metrics, and its
history as scalars against the epoch.
"""

from __future__ import annotations

import math
import sys
import time
import types
from pathlib import Path

import pandas as pd

from decaylab import files, tables
from decaylab.shard import HISTORY_COLUMNS

SCALARS = [column for column in HISTORY_COLUMNS if column != "epoch"]
"""History columns logged as scalars; their last values are the runs' metrics in HParams."""


def write(runs: pd.DataFrame, history: pd.DataFrame, folder) -> int:
    """Write one experiment's logs under ``folder`` (its HParams configuration at the top, one
    subfolder per run), replacing it whole (:func:`decaylab.files.atomic_folder`); returns the
    number of runs written."""
    # TensorBoard's own switch to its TensorFlow stub (the module its no-TensorFlow build
    # provides): writing logs needs no TensorFlow, whose start takes seconds
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    with files.atomic_folder(folder) as temporary:
        return _write(runs, history, Path(temporary))


def _write(runs: pd.DataFrame, history: pd.DataFrame, folder: Path) -> int:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    def scalars_at(names, values):  # one event per record (TensorBoard's helper imports TF)
        return summary_pb2.Summary(
            value=[
                summary_pb2.Summary.Value(tag=name, simple_value=value)
                for name, value in zip(names, values, strict=True)
                if math.isfinite(value)
            ]
        )

    settings = [c for c in tables.SETTINGS if c in runs and runs[c].notna().any()] + ["seed"]
    scalars = [c for c in SCALARS if c in history and history[c].notna().any()]
    now = time.time()

    def write_events(where: Path, events):
        writer = EventFileWriter(str(where))
        for step, summary in events:
            writer.add_event(event_pb2.Event(wall_time=now, step=step, summary=summary))
        writer.close()

    config = hp.hparams_config_pb(
        hparams=[hp.HParam(name) for name in settings],
        metrics=[hp.Metric(name) for name in scalars],
    )
    write_events(folder, [(0, config)])
    for (shard, run), records in history.groupby(["shard", "run"], sort=False):
        row = runs[(runs["shard"] == shard) & (runs["run"] == run)].iloc[0]
        values = {name: _plain(row[name]) for name in settings if _plain(row[name]) is not None}
        trial = f"{shard}/run{int(run):04d}"
        # the HParams dashboard averages the sessions of one group name: name each run by its
        # path under results/tensorboard, unique across the study
        group = f"{row['experiment']}/{trial}"
        events = [(0, hp.hparams_pb(values, trial_id=group))]
        epochs = records["epoch"].astype(int).tolist()
        rows = records[scalars].astype(float).itertuples(index=False, name=None)
        events += [
            (epoch, scalars_at(scalars, row)) for epoch, row in zip(epochs, rows, strict=True)
        ]
        write_events(folder / trial, events)
    return history.groupby(["shard", "run"]).ngroups


def _plain(value):
    """A setting as HParams takes it (a number, text or bool; None for a missing value)."""
    if isinstance(value, (bool, str)):
        return value
    return None if pd.isna(value) else float(value)

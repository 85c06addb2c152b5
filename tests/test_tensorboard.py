"""TensorBoard's own reader gives back every run's own settings and numbers."""

import numpy as np
import pandas as pd
import pytest

from decaylab import hparams_log


def read_sessions(logdir):
    """``{run path: (group name, hparams, {tag: last value})}`` as TensorBoard loads them."""
    from tensorboard.backend.event_processing import plugin_event_multiplexer
    from tensorboard.plugins.hparams import metadata
    from tensorboard.util import tensor_util

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    scalars = multiplexer.PluginRunToTagToContent("scalars")
    sessions = {}
    for run, tags in multiplexer.PluginRunToTagToContent(metadata.PLUGIN_NAME).items():
        if metadata.SESSION_START_INFO_TAG not in tags:
            continue  # an experiment's configuration
        start = metadata.parse_session_start_info_plugin_data(tags[metadata.SESSION_START_INFO_TAG])
        hparams = {name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
                   for name, value in start.hparams.items()}  # fmt: skip
        last = {
            tag: float(tensor_util.make_ndarray(multiplexer.Tensors(run, tag)[-1].tensor_proto))
            for tag in scalars.get(run, {})
        }
        sessions[run] = (start.group_name or run, hparams, last)
    return sessions


def study_tables(experiments=("first", "second"), shards=("sgd", "adam"), runs_per_shard=3):
    """Runs and history tables of several experiments whose shards share names."""
    rng = np.random.default_rng(0)
    runs, history = [], []
    for experiment in experiments:
        for shard in shards:
            for run in range(runs_per_shard):
                row = {
                    "experiment": experiment,
                    "shard": shard,
                    "run": run,
                    "optimizer": shard,
                    "learning_rate": float(rng.uniform(1e-3, 1)),
                    "seed": run,
                    "epochs": 4,
                }
                losses = rng.uniform(0.1, 3.0, size=4)
                runs.append({**row, "test_loss": losses[-1]})
                history += [
                    {**row, "epoch": epoch + 1, "test_loss": loss}
                    for epoch, loss in enumerate(losses)
                ]
    return pd.DataFrame(runs), pd.DataFrame(history)


def test_runs_of_different_experiments_keep_their_own_numbers(tmp_path):
    runs, history = study_tables()
    for experiment, own in runs.groupby("experiment"):
        written = hparams_log.write(
            own, history[history["experiment"] == experiment], tmp_path / experiment
        )
        assert written == len(own)
    sessions = read_sessions(tmp_path)  # the logdir of `tensorboard --logdir results/tensorboard`
    assert len(sessions) == len(runs)
    groups = [group for group, _, _ in sessions.values()]
    assert len(set(groups)) == len(runs), "two runs share an HParams group: TensorBoard averages"
    for _, row in runs.iterrows():
        path = f"{row['experiment']}/{row['shard']}/run{row['run']:04d}"
        group, hparams, last = sessions[path]
        assert group == path
        assert hparams["learning_rate"] == pytest.approx(row["learning_rate"])
        assert hparams["optimizer"] == row["shard"]
        assert last["test_loss"] == pytest.approx(row["test_loss"], rel=1e-6)

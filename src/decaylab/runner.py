"""Run a shard described as plain data (the workflow's ``params``) through engine and evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import evaluate as numpy_evaluation
from decaylab import models
from decaylab.data import CLASSIFICATION, Dataset

LABELS = ["experiment", "shard", "dataset", "model", "optimizer", "schedule", "regularization"]
TRAINING_METRICS = [
    "train_loss",
    "weight_norm",
    "final_learning_rate",
    "diverged",
    "diverged_epoch",
    "kernel",
    "bias",
]
CURVE_POINTS = 200


def model_spec(shard: dict) -> models.ModelSpec:
    settings = dict(shard["model"])
    if "hidden" in settings:
        settings["hidden"] = tuple(settings["hidden"])
    return models.ModelSpec(**settings)


def model_label(spec: models.ModelSpec) -> str:
    """``linear``, ``polynomial(9)`` or ``mlp(32x32, relu)``."""
    if spec.kind == "polynomial":
        return f"polynomial({spec.degree})"
    if spec.kind == "mlp":
        return f"mlp({'x'.join(map(str, spec.hidden))}, {spec.activation})"
    return spec.kind


def shard_config(shard: dict):
    """The engine's :class:`~decaylab.engine.ShardConfig` of a shard."""
    from decaylab.engine import ShardConfig  # loads the Keras backend

    options = shard.get("schedule_options", {})
    return ShardConfig(
        model=model_spec(shard),
        optimizer=shard["optimizer"],
        nesterov=shard.get("nesterov", False),
        schedule=shard["schedule"],
        staircase=options.get("staircase", False),
        cycle=options.get("cycle", False),
        boundaries=tuple(options.get("boundaries", ())),
        factors=tuple(options.get("factors", ())),
        regularization=shard["regularization"],
        epochs=shard["epochs"],
        batch_size=shard["batch_size"],
        shuffle=shard.get("shuffle", False),
        history_stride=shard.get("history_stride", 1),
    )


def labels(shard: dict, n_runs: int) -> pd.DataFrame:
    """The columns that name the runs of a shard: labels, their own settings, epochs, batch."""
    frame = pd.DataFrame(shard["runs"])
    frame.insert(0, "run", np.arange(n_runs))
    values = {
        **{key: shard.get(key) for key in LABELS},
        "model": model_label(model_spec(shard)),
    }
    for position, key in enumerate(LABELS):
        frame.insert(position, key, values[key])
    frame["epochs"] = shard["epochs"]
    frame["batch_size"] = shard["batch_size"]
    return frame


def train(shard: dict, train_set: Dataset, test_set: Dataset, threads: int | None = None):
    """Train a shard; its runs table carries its labels, settings and training metrics."""
    from decaylab.engine import train_shard  # loads the Keras backend

    result = train_shard(
        train_set,
        test_set,
        shard_config(shard),
        shard["runs"],
        threads=threads,
        device=shard.get("device", "cpu"),
    )
    named = labels(shard, len(shard["runs"]))
    metrics = result.runs[[c for c in TRAINING_METRICS if c in result.runs]]
    result.runs = pd.concat([named, metrics], axis=1)
    result.runs["device"] = result.device
    result.history = named.merge(result.history, on="run")
    return result


def evaluate(shard: dict, params, training: pd.DataFrame, train_set: Dataset, test_set: Dataset):
    """Test metrics of the trained parameters (NumPy) and, for 1-d regression, fitted curves."""
    spec = model_spec(shard)
    runs = training.copy()
    metrics = numpy_evaluation.test_metrics(spec, params, test_set)
    position = list(runs.columns).index("train_loss")
    for offset, (name, values) in enumerate(metrics.items()):
        runs.insert(position + offset, name, values)
    curves = pd.DataFrame(columns=["run", "x", "prediction"])
    if test_set.task != CLASSIFICATION and train_set.x.shape[1] == 1:
        x_all = np.concatenate([train_set.x, test_set.x])
        grid = np.linspace(x_all.min(), x_all.max(), CURVE_POINTS)[:, None]
        predictions = numpy_evaluation.predict(spec, [np.asarray(p, float) for p in params], grid)
        curves = pd.DataFrame(
            {
                "run": np.repeat(np.arange(len(runs)), CURVE_POINTS),
                "x": np.tile(grid[:, 0], len(runs)),
                "prediction": predictions[:, :, 0].ravel(),
            }
        )
        curves = labels(shard, len(runs)).merge(curves, on="run")
    return runs, curves

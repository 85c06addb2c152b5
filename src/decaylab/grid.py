"""From an experiment of the config to shards of runs (no Snakemake, no backend).

A list is a grid axis and the grid is their Cartesian product. Names that select code (the
optimizer, the schedule's ``kind``, the regularization's ``kind``) split the experiment into
shards; numbers are per-run hyper-parameters inside a shard. An axis that a kind does not use
(``decay_rate`` for a ``constant`` schedule, ``strength`` for ``none``) is dropped for that
kind, so no run is repeated.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

SCHEDULE_PARAMETERS = {
    "constant": (),
    "inverse_sqrt": ("decay_rate",),
    "exponential_per_epoch": ("decay_rate",),
    "exponential": ("decay_rate", "decay_steps"),
    "inverse_time": ("decay_rate", "decay_steps"),
    "piecewise": (),
    "polynomial": ("decay_steps", "end_learning_rate", "power"),
    "cosine": ("decay_steps", "alpha", "warmup_steps"),
    "cosine_restarts": ("decay_steps", "alpha", "t_mul", "m_mul"),
}
SCHEDULE_OPTIONS = ("staircase", "cycle", "boundaries", "factors")
OPTIMIZER_PARAMETERS = {
    "sgd": (),
    "momentum": ("momentum",),
    "adam": ("beta_1", "beta_2", "epsilon"),
    "rmsprop": ("rho", "momentum", "epsilon"),
    "adagrad": ("initial_accumulator_value", "epsilon"),
}
REGULARIZATION_PARAMETERS = {
    "none": (),
    "l2": ("strength",),
    "l1": ("strength",),
    "decoupled_lr": ("strength",),
    "decoupled": ("strength",),
}


@dataclass(frozen=True)
class Shard:
    """The runs of one experiment that train together, and what they share."""

    experiment: str
    name: str
    settings: dict
    runs: list

    def as_params(self) -> dict:
        """Everything a training job needs, as plain data (a Snakemake ``params`` value)."""
        return {
            "experiment": self.experiment,
            "shard": self.name,
            **self.settings,
            "runs": self.runs,
        }


def as_list(value) -> list:
    """A scalar as a one-element list; a list as itself."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def model_settings(model) -> dict:
    """``"linear"`` or ``{kind: mlp, hidden: [...], ...}`` as a mapping."""
    return {"kind": model} if isinstance(model, str) else dict(model)


def shards(name: str, experiment: dict) -> list[Shard]:
    """Expand one experiment of the config into its shards."""
    schedule = experiment.get("schedule", {"kind": "constant"})
    regularization = experiment.get("regularization", {"kind": "none"})
    result = []
    for optimizer, schedule_kind, regularization_kind in itertools.product(
        as_list(experiment.get("optimizer", "sgd")),
        as_list(schedule["kind"]),
        as_list(regularization["kind"]),
    ):
        axes = {"learning_rate": as_list(experiment["learning_rate"])}
        for key in OPTIMIZER_PARAMETERS[optimizer]:
            if key in experiment:
                axes[key] = as_list(experiment[key])
        for key in SCHEDULE_PARAMETERS[schedule_kind]:
            if key in schedule:
                axes[key] = as_list(schedule[key])
        for key in REGULARIZATION_PARAMETERS[regularization_kind]:
            axes[key] = as_list(regularization.get("strength", 0.0))
        axes["seed"] = as_list(experiment.get("seeds", [0]))
        runs = [
            dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())
        ]
        settings = {
            "dataset": experiment["dataset"],
            "model": model_settings(experiment["model"]),
            "optimizer": optimizer,
            "nesterov": bool(experiment.get("nesterov", False)) and optimizer == "momentum",
            "schedule": schedule_kind,
            "schedule_options": {
                key: schedule[key]
                for key in SCHEDULE_OPTIONS
                if key in schedule and _uses_option(schedule_kind, key)
            },
            "regularization": regularization_kind,
            "epochs": experiment["epochs"],
            "batch_size": experiment["batch_size"],
            "shuffle": experiment.get("shuffle", False),
            "history_stride": experiment.get("history_stride", 1),
            "device": experiment.get("device", "cpu"),
            "backend": experiment.get("backend"),
        }
        shard_name = "-".join(
            [
                optimizer + ("_nesterov" if settings["nesterov"] else ""),
                schedule_kind,
                regularization_kind,
            ]
        )
        result.append(Shard(name, shard_name, settings, runs))
    return result


def study_shards(config: dict) -> list[Shard]:
    """All shards of all experiments of a (validated) config."""
    return [
        s for name, experiment in config["experiments"].items() for s in shards(name, experiment)
    ]


def check_config(config: dict) -> None:
    """What the JSON schema cannot express: every experiment names a defined data set.

    (Names, ranges and repeated axis values are the schema's; see ``schema_error``.)
    """
    datasets = config.get("datasets", {})
    for name, experiment in config.get("experiments", {}).items():
        if experiment["dataset"] not in datasets:
            raise ValueError(
                f"experiments.{name}.dataset: unknown dataset {experiment['dataset']!r}; "
                f"defined datasets: {sorted(datasets)}"
            )


def _uses_option(kind: str, option: str) -> bool:
    return {
        "staircase": kind in ("exponential", "inverse_time"),
        "cycle": kind == "polynomial",
        "boundaries": kind == "piecewise",
        "factors": kind == "piecewise",
    }[option]


def schema_error(config: dict, schema: dict) -> str | None:
    """The most relevant JSON Schema violation of ``config`` as one line naming the key, or None.

    Snakemake's own message for a ``oneOf`` (a value or a list of values) says only that the
    value "is not valid under any of the given schemas"; ``best_match`` finds the alternative
    that explains it (``'lion' is not one of ['sgd', …]``).
    """
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return None
    while error.context:  # a oneOf: explain by the alternative that fits the value's type
        fitting = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = max(fitting, key=lambda e: len(e.absolute_path))
    key = ".".join(str(part) for part in error.absolute_path) or "<top level>"
    return f"{key}: {error.message}"

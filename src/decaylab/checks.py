"""Every problem of a config, found before any job runs and reported at once (no backend).

:func:`problems` runs the JSON schema (``config_schema``), then one Python pass over the whole
config: each data set generated and split once (``data_facts``), and the rules that span keys,
each a small function — settings no kind of the experiment reads, values outside a
component's range, a Sobol design's axes, sizes against the data after its split, the model
against the data's shape, caps on the size of a study and each shard's memory (``memory``),
and figures and predictions against the experiment's task and axes (``figure_checks``). Each
problem is one line that names its key path and what is allowed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from decaylab import (
    config_schema,
    data,
    data_facts,
    figure_checks,
    grid,
    memory,
    models,
    registry,
    shard,
)
from decaylab.data_facts import DataFacts

MAX_UPDATES = 10_000_000
"""Cap on each run's updates (epochs × updates per epoch); ``allow_large: true`` lifts it. A
shard's runs are not capped: one too big for a job trains in blocks (:func:`memory.blocks`)."""
STRENGTH_NAMES = ("strength", *registry.DERIVED_STRENGTHS)
"""The names a regularization's λ may be given by (each derives it)."""


class Kinds(NamedTuple):
    """The kinds an experiment lists, each as a list."""

    optimizers: list
    schedules: list
    regularizations: list

    @classmethod
    def of(cls, experiment: dict) -> Kinds:
        """The experiment's optimizers, schedules and regularizations (their defaults if none)."""
        return cls(
            grid.as_list(experiment.get("optimizer", "sgd")),
            grid.as_list(experiment.get("schedule", {}).get("kind", "constant")),
            grid.as_list(experiment.get("regularization", {}).get("kind", "none")),
        )


def problems(config: dict, schema: dict) -> list[str]:
    """Every problem of ``config``, schema first; an empty list for a sound config."""
    found = config_schema.problems(config, schema)
    if found:  # the Python pass relies on the shapes the schema guarantees
        return found
    facts = {}
    for name, dataset in config["datasets"].items():
        problem, facts[name] = data_facts.of(name, dataset)
        found += problem
    for name, experiment in config["experiments"].items():
        found += experiment_problems(name, experiment, facts, memory.job_cap(config))
    return found


def experiment_problems(name: str, experiment: dict, facts: dict, cap: float | None) -> list[str]:
    """What the schema cannot say about one experiment; ``facts`` are the data sets' facts by
    name (None for a data set with problems of its own), ``cap`` the bytes a training job may
    use (:func:`memory.job_cap`)."""
    key = f"experiments.{name}"
    if experiment["dataset"] not in facts:
        return [
            f"{key}.dataset: unknown dataset {experiment['dataset']!r}; "
            f"defined datasets: {sorted(facts)}"
        ]
    kinds = Kinds.of(experiment)
    per_kind = _per_kind_problems(key, experiment, kinds)
    if per_kind:  # the runs cannot be listed without a strength for every kind
        return per_kind
    found = _unread_settings(key, experiment, kinds)
    found += _sampled_axis_problems(key, experiment)
    found += _component_range_problems(key, experiment, kinds)
    found += _design_problems(key, experiment, kinds)
    found += _refine_problems(key, experiment, kinds)
    found += _piecewise_problems(key, experiment, kinds)
    found += _nesterov_problems(key, experiment, kinds)
    dataset = facts[experiment["dataset"]]
    if dataset is None:  # the data set's own problems are reported already
        return found
    found += _data_size_problems(key, experiment, dataset)
    model = _model_problems(key, experiment, dataset)
    if model:
        return found + model
    found += _select_problems(key, experiment, dataset)
    shards = grid.shards(name, experiment)
    if not experiment.get("allow_large"):
        found += _cap_problems(key, experiment, shards, dataset)
        found += memory.problems(key, shards, dataset, cap)
    return found + figure_checks.problems(key, experiment, dataset, kinds.regularizations, shards)


def _per_kind_problems(key, experiment, kinds: Kinds) -> list[str]:
    """A strength given per kind must name every kind that reads one, and no other."""
    strengths = experiment.get("regularization", {}).get("strength")
    if not grid.per_kind(strengths):
        return []
    reading = registry.strength_readers(kinds.regularizations)
    if set(strengths) == reading:
        return []
    return [
        f"{key}.regularization.strength: per kind, it must name every kind that reads a "
        f"strength and no other: {sorted(reading)}; got {sorted(strengths)}"
    ]


def _unread_settings(key, experiment, kinds: Kinds) -> list[str]:
    """Numbers and options that no kind of the experiment reads (a silent no-op otherwise)."""
    found = []
    read = {n for o in kinds.optimizers for n in registry.OPTIMIZERS[o].hyperparameters}
    for name in registry.HYPERPARAMETERS:
        if name in experiment and name not in read and name not in registry.COMMON:
            found.append(
                f"{key}.{name}: no optimizer of the experiment reads it ({kinds.optimizers})"
            )
    read = {n for s in kinds.schedules for n in registry.SCHEDULES[s].hyperparameters}
    read |= {o for s in kinds.schedules for o in registry.SCHEDULES[s].options}
    for name in set(experiment.get("schedule", {})) - {"kind"} - read:
        found.append(
            f"{key}.schedule.{name}: no schedule of the experiment reads it ({kinds.schedules})"
        )
    return found + _unread_strengths(key, experiment, kinds)


def _unread_strengths(key, experiment, kinds: Kinds) -> list[str]:
    """A strength given (or designed) where no kind reads one, or given by two names."""
    designed = experiment.get("sobol", {}).get("axes", {})
    regularization = experiment.get("regularization", {})
    given = [n for n in STRENGTH_NAMES if n in regularization or n in designed]
    found = []
    if given and kinds.regularizations == ["none"]:
        found.append(f"{key}.regularization.{given[0]}: regularization kind none reads no strength")
    if len(given) > 1:
        found.append(
            f"{key}.regularization: give one of strength, timescale and lr_times_strength "
            f"(each derives λ), got {given}"
        )
    return found


def _sampled_axis_problems(key, experiment) -> list[str]:
    """Sampled axes (``{log_uniform: [low, high], samples: n}``): bounds in order, and every
    drawn point inside its hyper-parameter's range."""
    regularization = experiment.get("regularization", {})
    places = [
        (experiment, key),
        (experiment.get("schedule", {}), f"{key}.schedule"),
        (regularization, f"{key}.regularization"),
    ]
    axes = [(f"{prefix}.{n}", n, value) for place, prefix in places for n, value in place.items()]
    axes += [  # a strength given per regularization kind
        (f"{key}.regularization.{name}.{kind}", name, axis)
        for name, value in regularization.items()
        if grid.per_kind(value)
        for kind, axis in value.items()
    ]
    found = []
    for where, name, value in axes:
        declared = registry.HYPERPARAMETERS.get(name) or registry.DERIVED_STRENGTHS.get(name)
        if not isinstance(value, dict) or grid.per_kind(value) or declared is None:
            continue
        low, high = value.get("log_uniform") or value.get("uniform")
        if not low < high:
            found.append(f"{where}: the bounds must increase, got [{low}, {high}]")
            continue
        outside = [p for p in grid.as_list(value) if not declared.allows(p)]
        if outside:
            found.append(
                f"{where}: sampled points such as {outside[0]:g} are outside its "
                f"range ({declared.allowed})"
            )
    return found


def _component_range_problems(key, experiment, kinds: Kinds) -> list[str]:
    """Values outside the range a component declares for them (e.g. decay_rate < 1)."""
    schedule = experiment.get("schedule", {})
    places = [(registry.SCHEDULES[s], schedule, f"{key}.schedule") for s in kinds.schedules]
    places += [(registry.OPTIMIZERS[o], experiment, key) for o in kinds.optimizers]
    found = []
    for component, place, prefix in places:
        for name in component.hyperparameters:
            declared = component.hyperparameter(name)
            for value in grid.as_list(place.get(name, [])):
                if not declared.allows(value):
                    found.append(
                        f"{prefix}.{name}: {value!r} is outside what {component.name} allows "
                        f"({declared.allowed})"
                    )
    return found


def _design_places(experiment, kinds: Kinds) -> dict[str, dict]:
    """Each name a kind of the experiment reads, and the mapping it would be given in."""
    places = {"learning_rate": experiment}
    places |= {
        n: experiment for o in kinds.optimizers for n in registry.OPTIMIZERS[o].hyperparameters
    }
    places |= {
        n: experiment.get("schedule", {})
        for s in kinds.schedules
        for n in registry.SCHEDULES[s].hyperparameters
    }
    if registry.strength_readers(kinds.regularizations):
        places |= dict.fromkeys(STRENGTH_NAMES, experiment.get("regularization", {}))
    return places


def _refine_problems(key, experiment, kinds: Kinds) -> list[str]:
    """Refinement rounds (``decaylab.refine``) need a crossed grid of positive strengths and a
    validation metric to place their values by."""
    if not experiment.get("refine", {}).get("rounds"):
        return []
    where = f"{key}.refine"
    if not registry.strength_readers(kinds.regularizations):
        return [f"{where}: no regularization kind of the experiment reads a strength to refine"]
    if experiment.get("sobol"):
        return [f"{where}: a Sobol design is not a grid of rows; refine a crossed grid"]
    if experiment.get("select") == "none":
        return [f"{where}: new values are placed by the validation metric; select is none"]
    regularization = experiment.get("regularization", {})
    name = next((n for n in STRENGTH_NAMES if n in regularization), "strength")
    values = regularization.get(name, 0.0)
    axes = values.values() if grid.per_kind(values) else [values]
    low = min(v for axis in axes for v in grid.as_list(axis))
    if low <= 0:
        return [f"{where}: new values are placed in log λ, so every value of "
                f"regularization.{name} must be > 0; got {low:g}"]  # fmt: skip
    return []


def _design_problems(key, experiment, kinds: Kinds) -> list[str]:
    """A Sobol design's axes: read by a kind of the experiment, given nowhere else, bounds in
    order, every point inside its range, and a power-of-2 number of points."""
    design = experiment.get("sobol")
    if not design:
        return []
    prefix, samples = f"{key}.sobol", design["samples"]
    found = []
    if samples & (samples - 1):
        found.append(
            f"{prefix}.samples: {samples} is not a power of 2; a Sobol sequence is balanced "
            f"only in powers of 2 (e.g. {1 << (samples - 1).bit_length()})"
        )
    places = _design_places(experiment, kinds)
    for name, axis in design["axes"].items():
        where = f"{prefix}.axes.{name}"
        if name not in places:
            found.append(f"{where}: no kind of the experiment reads it; allowed: {sorted(places)}")
            continue
        if name in places[name]:
            found.append(f"{where}: {name} is also given outside the design; give it once")
        low, high = axis.get("log_uniform") or axis.get("uniform")
        if not low < high:
            found.append(f"{where}: the bounds must increase, got [{low}, {high}]")
            continue
        declared = registry.HYPERPARAMETERS.get(name) or registry.DERIVED_STRENGTHS[name]
        outside = [p for p in grid.sobol_design({"sobol": design})[name] if not declared.allows(p)]
        if outside:
            found.append(
                f"{where}: points such as {outside[0]:g} are outside its range ({declared.allowed})"
            )
    return found


def _piecewise_problems(key, experiment, kinds: Kinds) -> list[str]:
    """A piecewise schedule: one more factor than boundaries, and the boundaries increasing."""
    if "piecewise" not in kinds.schedules:
        return []
    schedule = experiment.get("schedule", {})
    boundaries, factors = schedule.get("boundaries", []), schedule.get("factors", [])
    found = []
    if not boundaries or len(factors) != len(boundaries) + 1:
        found.append(
            f"{key}.schedule: piecewise needs boundaries and one more factor than "
            f"boundaries, got {len(boundaries)} boundaries and {len(factors)} factors"
        )
    if list(boundaries) != sorted(set(boundaries)):
        found.append(f"{key}.schedule.boundaries: must increase strictly, got {boundaries}")
    return found


def _nesterov_problems(key, experiment, kinds: Kinds) -> list[str]:
    """Nesterov's momentum asked of an experiment without the momentum optimizer."""
    if experiment.get("nesterov") and "momentum" not in kinds.optimizers:
        return [
            f"{key}.nesterov: only the momentum optimizer has it; optimizers {kinds.optimizers}"
        ]
    return []


def _data_size_problems(key, experiment, dataset: DataFacts) -> list[str]:
    """Training sizes and the batch against the training rows left after the split."""
    sizes = grid.as_list(experiment.get("train_size", []))
    found = []
    too_large = [size for size in sizes if size > dataset.training_rows]
    if too_large:
        found.append(
            f"{key}.train_size: {too_large[0]} is larger than the training part of dataset "
            f"{experiment['dataset']} ({dataset.training_rows} rows after the split)"
        )
    smallest = min([dataset.training_rows, *sizes])
    if experiment["batch_size"] > smallest:
        found.append(
            f"{key}.batch_size: {experiment['batch_size']} is larger than the training rows of "
            f"dataset {experiment['dataset']} ({smallest} after the split"
            + (" and train_size)" if sizes else ")")
        )
    return found


def _model_problems(key, experiment, dataset: DataFacts) -> list[str]:
    """Model options its kind does not take, and a network the data's shape cannot feed (a
    convolution or pooling larger than what is left of the input)."""
    model = grid.model_settings(experiment["model"])
    options = registry.MODELS[model["kind"]].options
    unread = sorted(set(model) - {"kind", *options})
    if unread:
        return [
            f"{key}.model.{option}: model {model['kind']} has no option {option!r}; its "
            f"options: {list(options)}"
            for option in unread
        ]
    try:
        spec = models.spec_of(experiment["model"])
        if spec.kind == "cnn":
            models.features(spec, np.zeros((0, dataset.n_features)), dataset.input_shape)
            models.layers(spec, dataset.input_shape, dataset.n_outputs)
    except ValueError as error:
        return [f"{key}.model: {error} (dataset {experiment['dataset']})"]
    return []


def _select_problems(key, experiment, dataset: DataFacts) -> list[str]:
    """Selecting by a validation metric needs a validation part, and a metric of the task."""
    select = experiment.get("select", "validation_loss")
    found = []
    if select != "none" and not dataset.validation_rows:
        found.append(
            f"{key}.select: selecting by {select} needs a validation part, and dataset "
            f"{experiment['dataset']} has none: set datasets.{experiment['dataset']}.split."
            "validation_fraction, or select: none"
        )
    wrong_task = {"validation_accuracy": data.REGRESSION, "validation_mse": data.CLASSIFICATION}
    if wrong_task.get(select) == dataset.task:
        found.append(f"{key}.select: {select} is not a metric of a {dataset.task} data set")
    return found


def _cap_problems(key, experiment, shards, dataset: DataFacts) -> list[str]:
    """The cap on the updates per run (:data:`MAX_UPDATES`)."""
    found = []
    steps = shard.updates_per_epoch(dataset.training_rows, experiment["batch_size"])
    epochs = max(grid.as_list(experiment["epochs"]))
    updates = epochs * steps
    if updates > MAX_UPDATES:
        found.append(
            f"{key}.epochs: {epochs} epochs × {steps} updates = {updates:,} "
            f"updates per run; at most {MAX_UPDATES:,} unless allow_large: true"
        )
    return found

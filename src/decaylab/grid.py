"""From an experiment of the config to shards of runs (no Snakemake, no backend).

A list is a grid axis and the grid is their Cartesian product. The optimizer (which decides the
optimizer's state) splits the experiment into shards; the schedule's and the regularization's
``kind`` and every number are per-run values inside a shard. Which axes each kind reads comes
from ``registry``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from decaylab import files, registry

SCHEDULE_OPTIONS = ("staircase", "cycle", "boundaries", "factors")
ROUND_SUFFIX = re.compile(r"_round(?P<round>[1-9][0-9]*)$")
"""How a refinement round's shard is named: its shard's name, then ``_round{r}``."""
BLOCK_SUFFIX = re.compile(r"_block[0-9]+of[0-9]+$")


@dataclass(frozen=True)
class Shard:
    """The runs of one experiment that train together, and what they share."""

    experiment: str
    name: str
    settings: dict
    runs: list

    def as_params(self) -> dict:
        """Everything a training job needs, as plain data (its ``spec.json``)."""
        return {
            "experiment": self.experiment,
            "shard": self.name,
            **self.settings,
            "runs": self.runs,
        }

    def digest(self) -> str:
        """A short digest of :meth:`as_params`: it changes exactly when the shard does."""
        text = json.dumps(self.as_params(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_list(value) -> list:
    """The values of an axis: a scalar as a one-element list, a list as itself, and a sampled
    axis ``{log_uniform: [a, b], samples: n, seed: s}`` (or ``uniform``) as its ``n`` points,
    drawn with ``RandomState(s)`` — ``exp(U(ln a, ln b))`` or ``U(a, b)`` — in increasing
    order, so the same seed gives the same points and the points decide what re-runs."""
    if isinstance(value, dict):
        rng = np.random.RandomState(value.get("seed", 0))
        if "log_uniform" in value:
            low, high = np.log(value["log_uniform"])
            points = np.exp(rng.uniform(low, high, value["samples"]))
        else:
            points = rng.uniform(*value["uniform"], value["samples"])
        return [float(p) for p in np.sort(points)]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def per_kind(value) -> bool:
    """Whether a strength is given per regularization kind (``{l2: [...], decoupled: [...]}``)."""
    return isinstance(value, dict) and set(value) <= set(registry.REGULARIZATIONS)


def strength_axis(regularization: dict, name: str, kind: str):
    """The axis ``name`` (``strength`` or a derived one) of regularization ``kind``: the
    experiment's axis, or the kind's own where it is given per kind."""
    value = regularization.get(name, 0.0)
    return value[kind] if per_kind(value) else value


def sobol_design(experiment: dict) -> dict[str, list[float]]:
    """The joint design of an experiment's ``sobol: {samples: n, seed: s, axes: {name: {log_uniform
    | uniform: [a, b]}}}``: n points of a scrambled Sobol sequence in d = len(axes) dimensions
    (``scipy.stats.qmc.Sobol(d, scramble=True, seed=s)``), mapped per axis to ``exp(ln a + u·(ln b
    − ln a))`` or ``a + u·(b − a)``. Returns each axis's n values, point by point: the axes are
    zipped, not crossed, so n points fill the d-dimensional box evenly (n a power of 2 keeps
    Sobol's balance). Empty without ``sobol``."""
    design = experiment.get("sobol")
    if not design:
        return {}
    axes = design["axes"]
    unit = unit_sobol(len(axes), design["samples"], design.get("seed", 0))
    points = {}
    for column, (name, axis) in zip(unit.T, axes.items(), strict=True):
        if "log_uniform" in axis:
            low, high = np.log(axis["log_uniform"])
            points[name] = [float(v) for v in np.exp(low + column * (high - low))]
        else:
            low, high = axis["uniform"]
            points[name] = [float(v) for v in low + column * (high - low)]
    return points


SOBOL_CACHE = Path(".snakemake/decaylab/sobol")
"""Where designs are kept: ``scipy.stats`` takes most of a second to import, and planning a
study would pay it at every start."""


def unit_sobol(dimensions: int, samples: int, seed: int) -> np.ndarray:
    """``(samples, dimensions)`` points of ``scipy.stats.qmc.Sobol(dimensions, scramble=True,
    seed=seed)`` in [0, 1), kept in :data:`SOBOL_CACHE` (by SciPy's version)."""
    import scipy  # the package alone; its stats module is imported only on a cache miss

    cache = SOBOL_CACHE / f"{dimensions}-{samples}-{seed}-scipy{scipy.__version__}.npy"
    with contextlib.suppress(OSError, ValueError):
        return np.load(cache)
    from scipy.stats import qmc

    unit = qmc.Sobol(dimensions, scramble=True, seed=seed).random(samples)
    with contextlib.suppress(OSError):  # a read-only folder only loses the speed-up
        cache.parent.mkdir(parents=True, exist_ok=True)
        with files.atomic(cache) as temporary, open(temporary, "wb") as stream:
            np.save(stream, unit)
    return unit


def split_options(dataset: dict) -> dict:
    """The split's options of a data set of the config, ``standardize`` defaulting to whether
    the source is tabular (``registry.STANDARDIZED``)."""
    return {
        "standardize": dataset["generator"] in registry.STANDARDIZED,
        **dataset.get("split", {}),
    }


def source_options(dataset: dict) -> dict:
    """The options a data set's source is called with (all but ``generator`` and ``split``)."""
    return {k: v for k, v in dataset.items() if k not in ("generator", "split")}


def model_settings(model) -> dict:
    """``"linear"`` or ``{kind: mlp, hidden: [...], ...}`` as a mapping."""
    return {"kind": model} if isinstance(model, str) else dict(model)


def runs_of(experiment: dict, optimizer: str) -> list[dict]:
    """Every run of ``optimizer`` in ``experiment``: per schedule kind and regularization kind,
    the product of the axes that kind reads (``registry``), then the points of the Sobol design
    (:func:`sobol_design`; its axes zipped, as one axis), seeds last.

    An axis that a kind does not read (``decay_rate`` for ``constant``, ``strength`` for
    ``none``) is dropped for that kind, so no run is repeated.
    """
    schedule = experiment.get("schedule", {"kind": "constant"})
    regularization = experiment.get("regularization", {"kind": "none"})
    design = sobol_design(experiment)
    runs = []
    for schedule_kind, regularization_kind in itertools.product(
        as_list(schedule.get("kind", "constant")), as_list(regularization.get("kind", "none"))
    ):
        sources = {"learning_rate": experiment}
        sources |= dict.fromkeys(registry.OPTIMIZERS[optimizer].hyperparameters, experiment)
        sources |= dict.fromkeys(registry.SCHEDULES[schedule_kind].hyperparameters, schedule)
        axes = {"schedule": [schedule_kind], "regularization": [regularization_kind]}
        for name, source in sources.items():
            if name in source:
                axes[name] = as_list(source[name])
        if registry.strength_readers([regularization_kind]):
            given = [n for n in registry.DERIVED_STRENGTHS if n in regularization or n in design]
            name = given[0] if given else "strength"
            axes[name] = as_list(strength_axis(regularization, name, regularization_kind))
        read = set(axes) | set(sources)
        joint = {name: values for name, values in design.items() if name in read}
        for name in joint:
            axes.pop(name, None)
        points = [dict(zip(joint, p, strict=True)) for p in zip(*joint.values(), strict=True)]
        seeds = as_list(experiment.get("seeds", [0]))
        for values in itertools.product(*axes.values(), points or [{}], seeds):
            *crossed, point, seed = values
            runs.append({**dict(zip(axes, crossed, strict=True)), **point, "seed": seed})
    return runs


def resolve_strength(run: dict, updates_per_epoch: int) -> dict:
    """``run`` with its ``strength`` λ derived where it gives a derived axis instead
    (``registry.DERIVED_STRENGTHS``): from the timescale in epochs τ = 1/(η0·λ·M),
    λ = 1/(η0·τ·M) with M updates per epoch; from η0·λ, λ = (η0·λ)/η0."""
    if "timescale" in run:
        return {
            **run,
            "strength": 1.0 / (run["learning_rate"] * run["timescale"] * updates_per_epoch),
        }
    if "lr_times_strength" in run:
        return {**run, "strength": run["lr_times_strength"] / run["learning_rate"]}
    return run


def resolve_horizon(run: dict, training_steps: int) -> dict:
    """``run`` with the ``wsd`` schedule's horizon T (``decay_steps``) set to its whole training,
    ``training_steps`` = epochs × updates per epoch, where the config gives none: the anneal
    then takes the same fraction of any budget."""
    if run.get("schedule") == "wsd" and "decay_steps" not in run:
        return {**run, "decay_steps": float(training_steps)}
    return run


def shards(name: str, experiment: dict) -> list[Shard]:
    """Expand one experiment of the config into its shards: one per optimizer, training-set
    size (``train_size``: that many rows of the training part, :func:`decaylab.data.subsample`)
    and budget (``epochs`` given as a list: the number of updates T as a crossed factor).

    Schedule and regularization kinds are per-run choices inside a shard; only what changes
    the computation's shapes or the optimizer's state splits shards.
    """
    schedule = experiment.get("schedule", {"kind": "constant"})
    kinds = as_list(schedule.get("kind", "constant"))
    sizes = as_list(experiment.get("train_size", [None]))
    crossed_budget = isinstance(experiment["epochs"], list)
    result = []
    for optimizer, size, epochs in itertools.product(
        as_list(experiment.get("optimizer", "sgd")), sizes, as_list(experiment["epochs"])
    ):
        nesterov = bool(experiment.get("nesterov", False)) and optimizer == "momentum"
        settings = {
            "dataset": experiment["dataset"],
            "model": model_settings(experiment["model"]),
            "optimizer": optimizer,
            "nesterov": nesterov,
            "schedule_options": {
                key: schedule[key]
                for key in SCHEDULE_OPTIONS
                if key in schedule
                and any(key in registry.SCHEDULES[kind].options for kind in kinds)
            },
            "epochs": epochs,
            "batch_size": experiment["batch_size"],
            "shuffle": experiment.get("shuffle", False),
            "history_stride": experiment.get("history_stride", 1),
            "device": experiment.get("device", "cpu"),
            "backend": experiment.get("backend"),
        }
        if size is not None:  # absent otherwise, so that the spec and its digest stay as they were
            settings["train_size"] = size
        shard_name = optimizer + ("_nesterov" if nesterov else "")
        shard_name += "" if size is None else f"_n{size}"
        shard_name += f"_e{epochs}" if crossed_budget else ""
        result.append(Shard(name, shard_name, settings, runs_of(experiment, optimizer)))
    return result


def study_shards(config: dict) -> list[Shard]:
    """All shards of all experiments of a (validated) config."""
    return [
        s for name, experiment in config["experiments"].items() for s in shards(name, experiment)
    ]


def base_shard(name: str) -> str:
    """The shard a training job's shard belongs to: ``name`` without a block's or a round's
    suffix."""
    return BLOCK_SUFFIX.sub("", ROUND_SUFFIX.sub("", name))


def round_of(name: str) -> int:
    """The refinement round a shard's runs come from (0: the config's grid)."""
    found = ROUND_SUFFIX.search(name)
    return int(found["round"]) if found else 0

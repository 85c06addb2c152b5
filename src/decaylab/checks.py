"""Every problem of a config, found before any job runs and reported at once (no backend).

:func:`problems` runs the JSON schema (with finite numbers and strict integers) and one Python
pass over the whole config: what the schema cannot express, from the one registry — cross-key
rules per component, the data sets' sizes after their split, figure options against the
experiment's task and axes, and caps on the size of a study. Each problem is one line that names
its key path and what is allowed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from decaylab import data, files, grid, models, registry, sources

MAX_RUNS = 20_000
MAX_UPDATES = 10_000_000
"""Caps per experiment (runs, and epochs × updates per epoch); ``allow_large: true`` lifts them."""
BACKEND_FOOTPRINT = 2**30
"""Resident memory of a training process besides its shard's arrays: Python, the backend and
the compiled chunk (TensorFlow's, measured on a two-run shard; JAX's is smaller)."""
HISTORY_ROW_BYTES = 300
"""Bytes per run and record of the history: the float32 record, the tidy table and its labelled
copy (about 35 eight-byte columns), measured on a 1.2-million-row history."""
MEMORY_SHARE = 0.5
"""A shard may use at most this share of the machine's memory, by estimate."""
FIGURE_METRICS = {  # what each figure can draw, per task: run metrics, history columns
    "heatmap": {
        "regression": (
            "validation_mse",
            "validation_loss",
            "test_mse",
            "test_loss",
            "train_loss",
            "weight_norm",
        ),
        "classification": (
            "validation_accuracy",
            "validation_loss",
            "test_accuracy",
            "test_loss",
            "train_loss",
            "weight_norm",
        ),
    },
    "learning_curves": {
        "regression": (
            "validation_loss",
            "test_loss",
            "train_loss",
            "weight_norm",
            "scheduled_learning_rate",
        ),
        "classification": (
            "validation_loss",
            "validation_accuracy",
            "test_accuracy",
            "test_loss",
            "train_loss",
            "weight_norm",
            "scheduled_learning_rate",
        ),
    },
}


FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""YAML's safe loader, parsed by libyaml where PyYAML has it (several times faster: the config
and the schema are read at every start of the workflow)."""


class DuplicateKeyLoader(FastSafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last)."""


def _no_duplicates(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice (line {seen[key]} and line "
                f"{key_node.start_mark.line + 1})", key_node.start_mark,
            )  # fmt: skip
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep)


DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def file_problems(path) -> list[str]:
    """Problems of a config file as YAML: unreadable, malformed, or a key given twice."""
    try:
        with open(path) as stream:
            yaml.load(stream, Loader=DuplicateKeyLoader)  # noqa: S506 - a safe loader
    except OSError as error:
        return [f"{path}: cannot be read ({error.strerror})"]
    except yaml.YAMLError as error:
        return [f"{path}: {' '.join(str(error).split())}"]
    return []


def problems(config: dict, schema: dict) -> list[str]:
    """Every problem of ``config``, schema first; an empty list for a sound config."""
    found = schema_problems(config, schema)
    if found:  # the Python pass relies on the shapes the schema guarantees
        return found
    facts = {}
    for name, dataset in config["datasets"].items():
        problem, facts[name] = dataset_facts(name, dataset)
        found += problem
    for name, experiment in config["experiments"].items():
        found += experiment_problems(name, experiment, facts)
    return found


def _validator(schema):
    import jsonschema

    base = jsonschema.validators.validator_for(schema)

    def finite_number(checker, instance):
        return base.TYPE_CHECKER.is_type(instance, "number") and math.isfinite(instance)

    def strict_integer(checker, instance):
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = base.TYPE_CHECKER.redefine_many({"number": finite_number, "integer": strict_integer})
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def schema_problems(config: dict, schema: dict) -> list[str]:
    """Every JSON Schema violation, one line each, with finite numbers and strict integers.

    Snakemake's own message for a ``oneOf`` (a value or a list of values) says only that the
    value "is not valid under any of the given schemas"; the alternative that fits the value's
    type explains it (``'lion' is not one of ['sgd', …]``).
    """
    found, seen = [], set()
    for error in sorted(_validator(schema).iter_errors(config), key=lambda e: list(e.path)):
        while error.context:
            fitting = [e for e in error.context if e.validator != "type"] or list(error.context)
            error = max(fitting, key=lambda e: len(e.absolute_path))
        key = ".".join(str(part) for part in error.absolute_path) or "<top level>"
        message = error.message
        if error.validator == "type" and isinstance(error.instance, float):
            if not math.isfinite(error.instance):
                message = f"must be a finite number, got {error.instance}"
            elif error.instance.is_integer():
                message = f"must be an integer: write {int(error.instance)}, not {error.instance}"
        if (key, message) not in seen:
            seen.add((key, message))
            found.append(f"{key}: {message}")
    return found


@dataclass(frozen=True)
class DataFacts:
    """What the checks need to know of a data set, from the data set itself."""

    task: str
    n_features: int
    n_outputs: int
    n_rows: int
    training_rows: int
    validation_rows: int = 0
    input_shape: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(self.input_shape))


FACTS_CACHE = ".snakemake/decaylab/data_facts"
"""Where the facts of slow data sources are kept, by a digest of their options (and file)."""


def dataset_facts(name: str, dataset: dict) -> tuple[list[str], DataFacts | None]:
    """The data set generated and split once: its problems, or its facts.

    Problems are options the source does not take and what the source or the split refuses
    (a reversed range, a missing file or column, non-numeric or non-finite values, an empty
    part, a class too small to stratify). A Keras archive is not downloaded here: its facts
    come from its declaration. The facts of other sources are kept in :data:`FACTS_CACHE`, so
    a data set that takes a second to generate is generated once, not at every start.
    """
    key = f"datasets.{name}"
    generator = registry.GENERATORS[dataset["generator"]]
    options = grid.source_options(dataset)
    unknown = sorted(set(options) - set(generator.options))
    if unknown:
        return [
            f"{key}.{option}: generator {generator.name} has no option {option!r}; "
            f"its options: {list(generator.options)}"
            for option in unknown
        ], None
    split = grid.split_options(dataset)
    if dataset["generator"] in sources.ARCHIVES:
        return _archive_facts(key, dataset["generator"], split)
    cache = _facts_cache(dataset)
    if cache is not None and cache.exists():
        return [], DataFacts(**json.loads(cache.read_text()))
    try:
        generated = data.generate(dataset["generator"], **options)
        rows = data.split(generated, **split)
    except ValueError as error:
        where = ""
        if dataset["generator"] == "file" and dataset["path"] not in str(error):
            where = f" (data file {dataset['path']})"
        return [f"{key}: {error}{where}"], None
    outputs = generated.n_classes if generated.task == data.CLASSIFICATION else generated.y.shape[1]
    facts = DataFacts(
        generated.task,
        generated.x.shape[1],
        outputs,
        len(generated.y),
        len(rows.train),
        len(rows.validation),
        generated.input_shape,
    )
    if cache is not None:
        with contextlib.suppress(OSError):  # a read-only folder only loses the speed-up
            cache.parent.mkdir(parents=True, exist_ok=True)
            with files.atomic(cache) as temporary:
                temporary.write_text(json.dumps(dataclasses.asdict(facts)))
    return [], facts


def _facts_cache(dataset: dict) -> Path | None:
    """The cache file of a slow source's facts, None for the fast synthetic ones."""
    if dataset["generator"] in data.GENERATORS:
        return None
    identity = {"dataset": dataset, "format": 1}
    if dataset["generator"] == "file":
        path = Path(dataset["path"])
        if not path.is_file():
            return None  # the check reports it
        stat = path.stat()
        identity["file"] = [stat.st_size, stat.st_mtime_ns]
    text = json.dumps(identity, sort_keys=True, default=str)
    return Path(FACTS_CACHE) / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.json"


def _archive_facts(key: str, name: str, split: dict) -> tuple[list[str], DataFacts | None]:
    """Facts of a Keras archive from its declaration (row counts, image shape, 10 classes)."""
    archive = sources.ARCHIVES[name]
    n = archive.train_rows + archive.test_rows
    parts = [
        int(round(n * split.get(f"{p}_fraction", d))) for p, d in (("test", 0.2), ("validation", 0))
    ]
    training = split.get("subset") or n - sum(parts)
    if training > n - sum(parts):
        return [f"{key}.split.subset: at most {n - sum(parts)} (the training rows)"], None
    shape = archive.image_shape
    return [], DataFacts(data.CLASSIFICATION, int(np.prod(shape)), 10, n, training, parts[1], shape)


def experiment_problems(name: str, experiment: dict, facts: dict) -> list[str]:
    """What the schema cannot say about one experiment."""
    key = f"experiments.{name}"
    found = []
    if experiment["dataset"] not in facts:
        return found + [
            f"{key}.dataset: unknown dataset {experiment['dataset']!r}; "
            f"defined datasets: {sorted(facts)}"
        ]
    dataset = facts[experiment["dataset"]]
    optimizers = grid.as_list(experiment.get("optimizer", "sgd"))
    schedule = experiment.get("schedule", {})
    schedules = grid.as_list(schedule.get("kind", "constant"))
    regularization = experiment.get("regularization", {})
    regularizations = grid.as_list(regularization.get("kind", "none"))
    per_kind = _per_kind_problems(key, regularization, regularizations)
    if per_kind:  # the runs cannot be listed without a strength for every kind
        return found + per_kind
    found += _unread_settings(key, experiment, optimizers, schedules, regularizations)
    found += _ranges(key, experiment, optimizers, schedules)
    found += _design_problems(key, experiment, optimizers, schedules, regularizations)
    if "piecewise" in schedules:
        boundaries, factors = schedule.get("boundaries", []), schedule.get("factors", [])
        if not boundaries or len(factors) != len(boundaries) + 1:
            found.append(
                f"{key}.schedule: piecewise needs boundaries and one more factor than "
                f"boundaries, got {len(boundaries)} boundaries and {len(factors)} factors"
            )
        if list(boundaries) != sorted(set(boundaries)):
            found.append(f"{key}.schedule.boundaries: must increase strictly, got {boundaries}")
    if experiment.get("nesterov") and "momentum" not in optimizers:
        found.append(f"{key}.nesterov: only the momentum optimizer has it; optimizers {optimizers}")
    if dataset is None:  # the data set's own problems are reported already
        return found
    sizes = grid.as_list(experiment.get("train_size", []))
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
    model = grid.model_settings(experiment["model"])
    unread = sorted(set(model) - {"kind", *registry.MODELS[model["kind"]].options})
    if unread:
        return found + [
            f"{key}.model.{option}: model {model['kind']} has no option {option!r}; its "
            f"options: {list(registry.MODELS[model['kind']].options)}"
            for option in unread
        ]
    try:
        spec = models.spec_of(experiment["model"])
        if spec.kind == "cnn":
            models.features(spec, np.zeros((0, dataset.n_features)), dataset.input_shape)
            models.layers(spec, dataset.input_shape, dataset.n_outputs)
    except ValueError as error:
        return found + [f"{key}.model: {error} (dataset {experiment['dataset']})"]
    select = experiment.get("select", "validation_loss")
    if select != "none" and not dataset.validation_rows:
        found.append(
            f"{key}.select: selecting by {select} needs a validation part, and dataset "
            f"{experiment['dataset']} has none: set datasets.{experiment['dataset']}.split."
            "validation_fraction, or select: none"
        )
    wrong_task = {"validation_accuracy": data.REGRESSION, "validation_mse": data.CLASSIFICATION}
    if wrong_task.get(select) == dataset.task:
        found.append(f"{key}.select: {select} is not a metric of a {dataset.task} data set")
    found += _size_problems(key, name, experiment, dataset)
    found += _figure_problems(key, name, experiment, dataset, regularizations)
    return found


def _design_problems(key, experiment, optimizers, schedules, regularizations) -> list[str]:
    """A Sobol design's axes: read by a kind of the experiment, given nowhere else, bounds in
    order, every point inside its range, and a power-of-2 number of points."""
    design = experiment.get("sobol")
    if not design:
        return []
    prefix = f"{key}.sobol"
    places = {"learning_rate": experiment}
    places |= {n: experiment for o in optimizers for n in registry.OPTIMIZERS[o].hyperparameters}
    places |= {
        n: experiment.get("schedule", {})
        for s in schedules
        for n in registry.SCHEDULES[s].hyperparameters
    }
    if any(registry.REGULARIZATIONS[r].hyperparameters for r in regularizations):
        places |= dict.fromkeys(
            ("strength", *registry.DERIVED_STRENGTHS), experiment.get("regularization", {})
        )
    found = []
    samples = design["samples"]
    if samples & (samples - 1):
        found.append(
            f"{prefix}.samples: {samples} is not a power of 2; a Sobol sequence is balanced "
            f"only in powers of 2 (e.g. {1 << (samples - 1).bit_length()})"
        )
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


def _per_kind_problems(key, regularization, regularizations) -> list[str]:
    """A strength given per kind must name every kind that reads one, and no other."""
    strengths = regularization.get("strength")
    if not grid.per_kind(strengths):
        return []
    reading = {r for r in regularizations if registry.REGULARIZATIONS[r].hyperparameters}
    if set(strengths) == reading:
        return []
    return [
        f"{key}.regularization.strength: per kind, it must name every kind that reads a "
        f"strength and no other: {sorted(reading)}; got {sorted(strengths)}"
    ]


def _unread_settings(key, experiment, optimizers, schedules, regularizations) -> list[str]:
    """Numbers and options that no kind of the experiment reads (a silent no-op otherwise)."""
    found = []
    read = {n for o in optimizers for n in registry.OPTIMIZERS[o].hyperparameters}
    for name in registry.HYPERPARAMETERS:
        if name in experiment and name not in read and name not in registry.COMMON:
            found.append(f"{key}.{name}: no optimizer of the experiment reads it ({optimizers})")
    schedule = experiment.get("schedule", {})
    read = {n for s in schedules for n in registry.SCHEDULES[s].hyperparameters}
    read |= {o for s in schedules for o in registry.SCHEDULES[s].options}
    for name in set(schedule) - {"kind"} - read:
        found.append(f"{key}.schedule.{name}: no schedule of the experiment reads it ({schedules})")
    designed = experiment.get("sobol", {}).get("axes", {})
    given = [
        n
        for n in ("strength", *registry.DERIVED_STRENGTHS)
        if n in experiment.get("regularization", {}) or n in designed
    ]
    if given and regularizations == ["none"]:
        found.append(f"{key}.regularization.{given[0]}: regularization kind none reads no strength")
    if len(given) > 1:
        found.append(
            f"{key}.regularization: give one of strength, timescale and lr_times_strength "
            f"(each derives λ), got {given}"
        )
    return found


def _ranges(key, experiment, optimizers, schedules) -> list[str]:
    """Values outside the range a component declares for them (e.g. decay_rate < 1), and
    sampled axes: bounds in order, and every drawn point inside its hyper-parameter's range."""
    found = []
    places = [
        (experiment, key),
        (experiment.get("schedule", {}), f"{key}.schedule"),
        (experiment.get("regularization", {}), f"{key}.regularization"),
    ]
    axes = [
        (f"{prefix}.{name}", name, value)
        for place, prefix in places
        for name, value in place.items()
    ]
    axes += [  # a strength given per regularization kind
        (f"{key}.regularization.{name}.{kind}", name, axis)
        for name, value in experiment.get("regularization", {}).items()
        if grid.per_kind(value)
        for kind, axis in value.items()
    ]
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
    schedule = experiment.get("schedule", {})
    sources = [(registry.SCHEDULES[s], schedule, f"{key}.schedule") for s in schedules]
    sources += [(registry.OPTIMIZERS[o], experiment, key) for o in optimizers]
    for component, source, prefix in sources:
        for name in component.hyperparameters:
            declared = component.hyperparameter(name)
            for value in grid.as_list(source.get(name, [])):
                if not declared.allows(value):
                    found.append(
                        f"{prefix}.{name}: {value!r} is outside what {component.name} allows "
                        f"({declared.allowed})"
                    )
    return found


def _size_problems(key, name, experiment, dataset: DataFacts) -> list[str]:
    """Caps on runs and updates, and each shard's memory against the machine's."""
    if experiment.get("allow_large"):
        return []
    found = []
    steps = grid.updates_per_epoch(dataset.training_rows, experiment["batch_size"])
    updates = experiment["epochs"] * steps
    if updates > MAX_UPDATES:
        found.append(
            f"{key}.epochs: {experiment['epochs']} epochs × {steps} updates = {updates:,} "
            f"updates per run; at most {MAX_UPDATES:,} unless allow_large: true"
        )
    shards = grid.shards(name, experiment)
    n_runs = sum(len(s.runs) for s in shards)
    if n_runs > MAX_RUNS:
        found.append(
            f"{key}: {n_runs:,} runs; at most {MAX_RUNS:,} unless allow_large: true "
            "(the grid is the product of every list)"
        )
    available = _memory_bytes()
    for shard in shards:
        needed = shard_memory(shard, dataset)
        if available and needed > MEMORY_SHARE * available:
            found.append(
                f"{key}: shard {shard.name} needs about {needed / 2**30:.1f} GiB, more than "
                f"{MEMORY_SHARE:.0%} of this machine's {available / 2**30:.1f} GiB, unless "
                "allow_large: true"
            )
    return found


def shard_memory(shard, dataset: DataFacts) -> float:
    """The training job's peak resident memory in bytes, estimated::

        BACKEND_FOOTPRINT + 4·K·(5·P + A) + HISTORY_ROW_BYTES·K·(epochs / stride + 2)

    K runs in float32; P parameters per run, held five times (values, gradient, optimizer
    state, the update and the copy kept for a diverging run); A the activations of one run's
    evaluation of the largest part (evaluation runs part by part, and reuses its buffers): the
    input and every layer's output, with a convolution's patches and its pooled output. The
    last term is the history: its records, and the labelled table written from them. Within a
    factor of 2 of the measured peak on six shard shapes (``benchmarks/shard_memory.py``).
    """
    spec = models.spec_of(shard.settings["model"])
    input_shape = dataset.input_shape if spec.kind == "cnn" else (dataset.n_features * spec.degree,)
    per_row = int(np.prod(input_shape))
    positions = int(np.prod(input_shape[:-1])) if spec.kind == "cnn" else 1
    n_params = 0
    for layer in models.layers(spec, input_shape, dataset.n_outputs):
        n_params += int(np.prod(layer.kernel_shape)) + 2 * layer.fan_out
        if layer.window:
            per_row += positions * (int(np.prod(layer.kernel_shape[:-1])) + layer.fan_out)
            positions = max(1, positions // layer.pool ** len(layer.window))
        per_row += positions * layer.fan_out if layer.window else layer.fan_out
    test_rows = dataset.n_rows - dataset.training_rows - dataset.validation_rows
    largest_part = max(dataset.training_rows, dataset.validation_rows, test_rows)
    k = len(shard.runs)
    records = shard.settings["epochs"] // shard.settings.get("history_stride", 1) + 2
    return (
        BACKEND_FOOTPRINT
        + 4.0 * k * (5 * n_params + per_row * largest_part)
        + HISTORY_ROW_BYTES * k * records
    )


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def _expect_problems(key, experiment, axes, regularizations) -> list[str]:
    """A prediction must name the optimum figure's x, and (per group) groups of its ``by``; an
    equilibrium needs a strength."""
    if "equilibrium" in experiment.get("expect", {}) and all(
        not registry.REGULARIZATIONS[r].hyperparameters for r in regularizations
    ):
        return [f"{key}.expect.equilibrium: needs a regularization kind with a strength"]
    slope = experiment.get("expect", {}).get("slope")
    if not slope:
        return []
    where = f"{key}.expect.slope"
    optimum = experiment.get("figures", {}).get("optimum")
    found = []
    if not optimum or optimum.get("x") != slope["x"]:
        found.append(
            f"{where}.x: the claims test the slopes of the optimum figure; add "
            f"figures: {{optimum: {{x: {slope['x']}}}}} (its x now: "
            f"{optimum.get('x') if optimum else 'no optimum figure'})"
        )
    by = slope.get("by")
    if by is None:
        if "value" not in slope or "values" in slope or isinstance(slope.get("rivals"), dict):
            found.append(f"{where}: without by, give one value and a list of rivals")
        return found
    if "values" not in slope or "value" in slope:
        found.append(f"{where}: with by: {by}, give values per group ({{group: slope}})")
        return found
    groups = {str(g) for g in _groups_of(experiment, by)} if by in axes else set()
    if by not in axes:
        found.append(
            f"{where}.by: {by!r} is not a setting of the experiment; allowed: {sorted(axes)}"
        )
    rivals = slope.get("rivals", {})
    if not isinstance(rivals, dict):
        found.append(f"{where}.rivals: with by, give the rivals per group ({{group: [...]}})")
        rivals = {}
    for name in (*slope["values"], *rivals):
        if groups and name not in groups:
            found.append(
                f"{where}: {name!r} is not a {by} of the experiment; allowed: {sorted(groups)}"
            )
    return found


def _groups_of(experiment, by) -> list:
    """The values the setting ``by`` takes in the experiment's runs."""
    return sorted(
        {run.get(by) for shard in grid.shards("_", experiment) for run in shard.runs} - {None},
        key=str,
    )


def _figure_problems(key, experiment_name, experiment, dataset: DataFacts, regularizations):
    """Figure options that do not fit the experiment's task, model or axes."""
    found = []
    figures = experiment.get("figures", {})
    task = dataset.task
    axes = {"optimizer", "schedule", "regularization", "seed"}
    axes |= {"train_size"} if "train_size" in experiment else set()
    for shard in grid.shards(experiment_name, experiment):
        axes |= {key for run in shard.runs for key in run}
    if figures.get("fit") and (task != data.REGRESSION or dataset.n_features != 1):
        found.append(
            f"{key}.figures.fit: draws 1-d regression only; dataset {experiment['dataset']} is "
            f"{task} with {dataset.n_features} features"
        )
    for figure in ("strength_curves", "equilibrium"):
        if figures.get(figure) and all(
            not registry.REGULARIZATIONS[r].hyperparameters for r in regularizations
        ):
            found.append(
                f"{key}.figures.{figure}: needs a regularization kind with a strength; "
                f"the experiment has {regularizations}"
            )
    optimum = figures.get("optimum")
    if optimum:
        numeric = axes - {"optimizer", "schedule", "regularization", "seed", "strength"}
        numeric -= set(registry.DERIVED_STRENGTHS)
        if optimum["x"] not in numeric:
            found.append(
                f"{key}.figures.optimum.x: {optimum['x']!r} is not a numeric setting of the "
                f"experiment other than λ; allowed: {sorted(numeric)}"
            )
        if experiment.get("select", "validation_loss") == "none":
            found.append(f"{key}.figures.optimum: λ* is chosen on validation; select is none")
        if all(not registry.REGULARIZATIONS[r].hyperparameters for r in regularizations):
            found.append(f"{key}.figures.optimum: needs a regularization kind with a strength")
    found += _expect_problems(key, experiment, axes, regularizations)
    for figure in ("heatmap", "learning_curves", "scatter"):
        options = figures.get(figure) or {}
        if not isinstance(options, dict):
            continue
        # seeds are averaged in heatmaps and scatters
        allowed_axes = axes if figure == "learning_curves" else axes - {"seed"}
        for option in ("x", "y", "hue"):
            if option in options and options[option] not in allowed_axes:
                found.append(
                    f"{key}.figures.{figure}.{option}: {options[option]!r} is not a setting of "
                    f"the experiment; allowed: {sorted(allowed_axes)}"
                )
        allowed = FIGURE_METRICS["heatmap" if figure == "scatter" else figure][task]
        if "metric" in options and options["metric"] not in allowed:
            found.append(
                f"{key}.figures.{figure}.metric: {options['metric']!r} is not a metric of a "
                f"{task} experiment; allowed: {list(allowed)}"
            )
    return found

"""Generated configs: every draw plans (and then its shards hold exactly its grid) or is refused
with problems that name a key — never any other exception.

Sound configs are drawn from the schema's names and the registry's ranges; mutations then break
them the ways users do (a wrong type, a value out of range, a missing or unknown key, a NaN, a
duplicate, an empty axis, a metric of the other task, a figure that does not fit). The checking
is what the Snakefile runs at parse time, in-process: ``checks.problems``, then Snakemake's
``validate`` (the schema's defaults) and ``grid.study_shards``.
"""

import copy
import itertools
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from snakemake.utils import validate

from decaylab import checks, grid, registry

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
COUNTS = {"configs": 0, "planned": 0, "refused": 0, "mutations": 0}
"""Draws of this session, for the fault table of docs/reliability.md (printed at the end)."""

settings.register_profile(
    "ci", max_examples=1000, derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile(
    "dev", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))  # dev: a longer local search

SIMPLE_SCHEDULES = ("constant", "inverse_sqrt", "exponential_per_epoch")
names = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
positive = st.floats(1e-4, 0.5, allow_nan=False).map(lambda v: float(f"{v:.4g}"))


def axis(values):
    """A scalar, or a list of distinct values (a grid axis)."""
    return st.one_of(values, st.lists(values, min_size=1, max_size=3, unique=True))


@st.composite
def datasets(draw):
    n = draw(st.integers(40, 120))
    split = {
        "test_fraction": draw(st.sampled_from([0.2, 0.25])),
        "validation_fraction": draw(st.sampled_from([0.0, 0.2])),
    }
    if draw(st.booleans()):
        return {"generator": "linear", "n": n, "seed": draw(st.integers(0, 9)), "split": split}
    split["stratify"] = draw(st.booleans())
    noise = draw(st.sampled_from([0.1, 0.3]))
    return {"generator": "moons", "n": n, "noise": noise, "split": split}


@st.composite
def experiments(draw, dataset_names, data):
    dataset = draw(st.sampled_from(dataset_names))
    facts = data[dataset]
    schedules = draw(
        st.lists(st.sampled_from(SIMPLE_SCHEDULES), min_size=1, max_size=3, unique=True)
    )
    schedule = {"kind": schedules if len(schedules) > 1 or draw(st.booleans()) else schedules[0]}
    if any(k != "constant" for k in schedules):
        schedule["decay_rate"] = draw(axis(st.sampled_from([0.001, 0.01, 0.1])))
    kinds = draw(st.lists(st.sampled_from(list(registry.REGULARIZATIONS)), min_size=1, max_size=3,
                          unique=True))  # fmt: skip
    regularization = {"kind": kinds if len(kinds) > 1 else kinds[0]}
    if any(k != "none" for k in kinds):
        regularization["strength"] = draw(axis(st.sampled_from([0.0, 1e-4, 0.01, 0.1])))
    train_rows = facts["train_rows"]
    experiment = {
        "dataset": dataset,
        "model": draw(st.sampled_from(["linear", {"kind": "mlp", "hidden": [4]}])),
        "optimizer": draw(axis(st.sampled_from(["sgd", "adam", "momentum"]))),
        "epochs": draw(st.integers(1, 5)),
        "batch_size": draw(st.integers(1, train_rows)),
        "learning_rate": draw(axis(positive)),
        "schedule": schedule,
        "regularization": regularization,
        "seeds": draw(st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True)),
        "select": "validation_loss" if facts["validation"] else "none",
    }
    crossed = len(grid.as_list(experiment["learning_rate"])) > 1 and (
        len(grid.as_list(regularization.get("strength", 0))) > 1
    )
    if crossed and draw(st.booleans()):
        experiment["figures"] = {"heatmap": {"x": "strength", "y": "learning_rate"}}
    return experiment


def data_facts(dataset):
    """Training rows and whether there is a validation part, from the dataset's own numbers."""
    n, split = dataset["n"], dataset["split"]
    test = round(n * split["test_fraction"])
    validation = round(n * split["validation_fraction"])
    return {"train_rows": n - test - validation, "validation": validation > 0}


@st.composite
def sound_configs(draw):
    names_ = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    sets = {name: draw(datasets()) for name in names_}
    data = {name: data_facts(d) for name, d in sets.items()}
    experiment_names = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    return {
        "datasets": sets,
        "experiments": {e: draw(experiments(names_, data)) for e in experiment_names},
    }


def expected_runs(experiment) -> set[tuple]:
    """The config's grid written out independently: per optimizer, the product of learning
    rates, (schedule kind × its decay rates), (regularization kind × its strengths) and seeds."""
    schedule, regularization = experiment["schedule"], experiment["regularization"]
    schedules = [
        (kind, rate)
        for kind in grid.as_list(schedule["kind"])
        for rate in (grid.as_list(schedule["decay_rate"]) if kind != "constant" else [None])
    ]
    regularizations = [
        (kind, strength)
        for kind in grid.as_list(regularization["kind"])
        for strength in (grid.as_list(regularization["strength"]) if kind != "none" else [None])
    ]
    return {
        (optimizer, lr, s_kind, rate, r_kind, strength, seed)
        for optimizer in grid.as_list(experiment["optimizer"])
        for lr in grid.as_list(experiment["learning_rate"])
        for (s_kind, rate), (r_kind, strength) in itertools.product(schedules, regularizations)
        for seed in experiment["seeds"]
    }


def planned_runs(shards, experiment_name) -> list[tuple]:
    return [
        (
            shard.settings["optimizer"],
            run["learning_rate"],
            run.get("schedule", "constant"),
            run.get("decay_rate"),
            run.get("regularization", "none"),
            run.get("strength"),
            run["seed"],
        )  # fmt: skip
        for shard in shards
        if shard.experiment == experiment_name
        for run in shard.runs
    ]


def plan(config):
    """What the Snakefile does at parse time: problems, or the shards."""
    found = checks.problems(config, SCHEMA)
    if found:
        return found, None
    validate(config, str(SCHEMA_PATH))  # fills the schema's defaults, as the Snakefile does
    return [], grid.study_shards(config)


@given(sound_configs())
def test_a_sound_config_plans_exactly_its_grid(config):
    COUNTS["configs"] += 1
    note(yaml.safe_dump(config))
    found, shards = plan(copy.deepcopy(config))
    assert not found, found
    COUNTS["planned"] += 1
    for name, experiment in config["experiments"].items():
        planned = planned_runs(shards, name)
        assert len(planned) == len(set(planned)), "a run planned twice"
        assert set(planned) == expected_runs(experiment)


def _first(config, section):
    return next(iter(config[section]))


OTHER_TASK_METRIC = {"moons": "test_mse", "linear": "test_accuracy"}
MUTATIONS = {  # name: (edit of a sound config, the key path its problem must name)
    "wrong type": lambda c, e, d: (c["experiments"][e].update(epochs="ten"),
                                   f"experiments.{e}.epochs"),
    "out of range": lambda c, e, d: (c["experiments"][e].update(learning_rate=-0.1),
                                     f"experiments.{e}.learning_rate"),
    "missing key": lambda c, e, d: (c["experiments"][e].pop("dataset"), f"experiments.{e}"),
    "unknown key": lambda c, e, d: (c["experiments"][e].update(epoch=3), f"experiments.{e}"),
    "NaN": lambda c, e, d: (c["experiments"][e].update(learning_rate=math.nan),
                            f"experiments.{e}.learning_rate"),
    "duplicate": lambda c, e, d: (c["experiments"][e].update(learning_rate=[0.1, 0.1]),
                                  f"experiments.{e}.learning_rate"),
    "empty axis": lambda c, e, d: (c["experiments"][e].update(seeds=[]), f"experiments.{e}.seeds"),
    "unknown dataset": lambda c, e, d: (c["experiments"][e].update(dataset="nowhere"),
                                        f"experiments.{e}.dataset"),
    "unknown optimizer": lambda c, e, d: (c["experiments"][e].update(optimizer="lion"),
                                          f"experiments.{e}.optimizer"),
    "batch larger than the data": lambda c, e, d: (c["experiments"][e].update(batch_size=10_000),
                                                   f"experiments.{e}.batch_size"),
    "metric of the other task": lambda c, e, d: (
        c["experiments"][e].update(figures={"heatmap": {
            "x": "strength", "y": "learning_rate",
            "metric": OTHER_TASK_METRIC[c["datasets"][d]["generator"]],
        }}),
        f"experiments.{e}.figures"),
    "figure that does not fit": lambda c, e, d: (
        c["experiments"][e].update(figures={"heatmap": {"x": "momentum", "y": "learning_rate"}}),
        f"experiments.{e}.figures"),
    "fraction out of range": lambda c, e, d: (c["datasets"][d]["split"].update(test_fraction=1.5),
                                              f"datasets.{d}.split.test_fraction"),
    "negative size": lambda c, e, d: (c["datasets"][d].update(n=-5), f"datasets.{d}.n"),
    "option of another generator": lambda c, e, d: (c["datasets"][d].update(degree=3),
                                                    f"datasets.{d}"),
}  # fmt: skip


@given(
    sound_configs(),
    st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=3, unique=True),
)
def test_a_broken_config_is_refused_naming_a_key(config, mutations):
    COUNTS["configs"] += 1
    COUNTS["mutations"] += len(mutations)
    experiment = _first(config, "experiments")
    dataset = config["experiments"][experiment]["dataset"]  # the one the experiment reads
    keys = []
    for mutation in mutations:
        _, key = MUTATIONS[mutation](config, experiment, dataset)
        keys.append(key)
    note(f"mutations {mutations}\n{yaml.safe_dump(config)}")
    found, _ = plan(config)
    assert found, f"{mutations} were accepted"
    COUNTS["refused"] += 1
    assert any(any(key in line for key in keys) for line in found), (keys, found)
    for line in found:  # every problem names a key path
        assert line.startswith(("datasets.", "experiments.", "compilation_cache", "config")), line


def leaf_paths(value, path=()):
    """Every path to a value inside nested dicts and lists (the mapping keys and list indices)."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))


ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.just(""), st.just([]), st.just({}), st.just([[]]),
    st.integers(-3, 3), st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 0.5]),
    st.text(max_size=5), st.lists(st.integers(-2, 2), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


@given(sound_configs(), st.data())
def test_any_value_anywhere_plans_or_is_refused_naming_a_key(config, data):
    """Any value at any place of a sound config: never an exception other than a refusal."""
    COUNTS["configs"] += 1
    COUNTS["mutations"] += 1
    paths = [p for p in leaf_paths(config) if p]
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(ODD_VALUES, label="value")
    parent = config
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    note(yaml.safe_dump(config))
    found, shards = plan(config)
    if found:
        COUNTS["refused"] += 1
        for line in found:
            assert line.startswith(("datasets", "experiments", "compilation_cache", "config")), line
    else:
        COUNTS["planned"] += 1
        assert shards is not None


@settings(max_examples=3, derandomize=True, database=None, deadline=None)
@given(sound_configs())
def test_small_sound_configs_run_end_to_end_through_snakemake(config):
    """A few draws, cut to one experiment and one optimizer, through the whole workflow."""
    from test_workflow import make_workdir, snakemake

    name, experiment = next(iter(config["experiments"].items()))
    experiment["optimizer"] = grid.as_list(experiment["optimizer"])[0]
    config = {"datasets": config["datasets"], "experiments": {name: experiment}}
    note(yaml.safe_dump(config))
    with tempfile.TemporaryDirectory() as folder:
        workdir = make_workdir(Path(folder), copy.deepcopy(config))
        snakemake(workdir, "--cores", "2")
        runs = pd.read_csv(workdir / "results/tables/runs.csv")
        assert len(runs) == len(expected_runs(experiment))
        if experiment["select"] != "none":
            assert (workdir / f"results/models/{name}/selected.keras").exists()
    COUNTS["configs run end to end"] = COUNTS.get("configs run end to end", 0) + 1

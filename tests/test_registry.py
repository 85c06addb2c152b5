"""The one registry against everything that names components: implementations, schema, grid,
tables and the config reference. Each test names what was forgotten."""

import inspect
import re
from pathlib import Path

import pytest
import yaml

from decaylab import data, grid, registry, tables

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
REFERENCE = (REPO / "config/README.md").read_text()
EXPERIMENT = SCHEMA["properties"]["experiments"]["additionalProperties"]["properties"]
DEFS = SCHEMA["$defs"]


def test_implementations_are_exactly_the_declared_components():
    from decaylab import schedules, transforms

    assert set(schedules.SCHEDULES) == set(registry.SCHEDULES)
    assert set(transforms.OPTIMIZERS) == set(registry.OPTIMIZERS)
    assert set(data.generators()) == set(registry.GENERATORS)


@pytest.mark.parametrize("name", list(registry.GENERATORS))
def test_generator_options_are_its_signature(name):
    assert set(inspect.signature(data.generators()[name]).parameters) == set(
        registry.GENERATORS[name].options
    )


@pytest.mark.parametrize("name", list(registry.SCHEDULES))
def test_each_schedule_documents_the_hyperparameters_it_reads(name):
    from decaylab import schedules

    source = inspect.getsource(schedules.SCHEDULES[name])
    if "_progress(" in source:  # the helper that reads decay_steps
        source += inspect.getsource(schedules._progress)
    read = set(re.findall(r'hp\["(\w+)"\]', source)) - {"learning_rate"}
    assert read == set(registry.SCHEDULES[name].hyperparameters)


def test_schema_enums_are_the_registry_names():
    assert DEFS["optimizer_name"]["enum"] == list(registry.OPTIMIZERS)
    assert DEFS["schedule_name"]["enum"] == list(registry.SCHEDULES)
    assert DEFS["regularization_name"]["enum"] == list(registry.REGULARIZATIONS)
    model = EXPERIMENT["model"]["oneOf"]
    # a bare name is a model without required options; cnn needs its filters
    assert model[0]["enum"] == [name for name in registry.MODELS if name != "cnn"]
    assert model[1]["properties"]["kind"]["enum"] == list(registry.MODELS)
    assert model[1]["properties"]["activation"]["enum"] == list(registry.ACTIVATIONS)
    assert model[1]["properties"]["normalization"]["enum"] == list(registry.NORMALIZATIONS)
    options = {option for c in registry.MODELS.values() for option in c.options}
    assert options == set(model[1]["properties"]) - {"kind"}
    dataset = SCHEMA["properties"]["datasets"]["additionalProperties"]["properties"]
    assert dataset["generator"]["enum"] == list(registry.GENERATORS)
    options = {option for c in registry.GENERATORS.values() for option in c.options}
    assert options == set(dataset) - {"generator", "split"}


def _schema_of(name):
    """The schema of hyper-parameter ``name``: a key of the experiment or of its schedule."""
    schedule = EXPERIMENT["schedule"]["properties"]
    regularization = EXPERIMENT["regularization"]["properties"]
    for place in (EXPERIMENT, schedule, regularization):
        if name in place:
            entry = place[name]
            ref = entry["$ref"] if "$ref" in entry else entry["oneOf"][0]["$ref"]  # or per kind
            base = ref.rsplit("/", 1)[1].removesuffix("_axis")
            return DEFS.get(f"{base}_number", DEFS.get(base))
    raise AssertionError(f"hyper-parameter {name!r} is not a key of the schema")


@pytest.mark.parametrize("name", [n for n in registry.HYPERPARAMETERS if n != "seed"])
def test_schema_ranges_are_the_registry_ranges(name):
    declared, schema = registry.HYPERPARAMETERS[name], _schema_of(name)
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    assert (declared.minimum, declared.exclusive_minimum) == (low, "exclusiveMinimum" in schema)
    assert (declared.maximum, declared.exclusive_maximum) == (high, "exclusiveMaximum" in schema)


def test_every_component_and_hyperparameter_is_in_the_config_reference():
    names = [
        *registry.HYPERPARAMETERS,
        *registry.SCHEDULES,
        *registry.OPTIMIZERS,
        *registry.REGULARIZATIONS,
        *registry.MODELS,
        *registry.GENERATORS,
    ]
    missing = [name for name in names if f"`{name}`" not in REFERENCE]
    assert not missing, f"config/README.md does not document {missing}"


def test_table_settings_are_every_hyperparameter_but_the_seed():
    per_run = [n for n in registry.HYPERPARAMETERS if n != "seed"]
    assert [c for c in tables.SETTINGS if c in registry.HYPERPARAMETERS] == per_run
    assert "seed" not in tables.SETTINGS


def test_grid_axes_are_what_each_kind_reads():
    experiment = {
        "dataset": "d",
        "model": "linear",
        "optimizer": "adam",
        "epochs": 1,
        "batch_size": 1,
        "learning_rate": [0.1, 0.01],
        "beta_1": [0.8, 0.9],
        "momentum": [0.5, 0.9],  # not read by adam: no axis
        "schedule": {"kind": ["constant", "cosine"], "decay_rate": [0.1, 0.2], "alpha": [0, 0.1]},
        "regularization": {"kind": ["none", "l2"], "strength": [0.1, 1.0]},
        "seeds": [0, 1],
    }
    (shard,) = grid.shards("e", experiment)
    for run in shard.runs:
        given = {"learning_rate", "beta_1", "momentum", "decay_rate", "alpha", "strength", "seed"}
        read = {*registry.COMMON, *registry.OPTIMIZERS["adam"].hyperparameters}
        read |= {*registry.SCHEDULES[run["schedule"]].hyperparameters}
        read |= {*registry.REGULARIZATIONS[run["regularization"]].hyperparameters}
        expected = given & read
        assert set(run) - {"schedule", "regularization"} == expected
    # constant: lr × beta_1 × seeds; cosine adds alpha; l2 adds strength
    per_regularization = {"none": 1, "l2": 2}
    per_schedule = {"constant": 1, "cosine": 2}
    assert len(shard.runs) == sum(
        2 * 2 * 2 * per_schedule[s] * per_regularization[r]
        for s in per_schedule
        for r in per_regularization
    )


def test_a_forgotten_setting_is_not_averaged_as_if_it_were_a_seed():
    runs = [
        {
            "experiment": "e",
            "learning_rate": 0.1,
            "beta_2": b2,
            "seed": s,
            "diverged": False,
            "test_mse": 1.0 + b2 + s,
        }  # fmt: skip
        for b2 in (0.9, 0.99)
        for s in (0, 1)
    ]
    import pandas as pd

    summary = tables.summarize(pd.DataFrame(runs), select=None)
    assert len(summary) == 2 and summary["n_seeds"].tolist() == [2, 2]

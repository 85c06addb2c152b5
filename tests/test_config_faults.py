"""Fault injection into the config: every problem is found in a dry run, before any job, with its
key named — all problems of a config at once — and config files behave as users expect."""

import math
import re
from pathlib import Path

import pytest
import yaml
from test_workflow import TEST_CONFIG, make_workdir, snakemake

from decaylab import checks

SCHEMA = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml").read_text()
)


def line(**changes):
    return lambda c: c["experiments"]["line"].update(changes)


def per_kind(**extra):
    """A prediction per regularization kind (for ``l2``, which ``net`` does not have)."""
    slope = {"x": "learning_rate", "by": "regularization", "statistic": "vertex"}
    return {"slope": {**slope, "values": {"l2": 0}, **extra}}


def net(**changes):
    return lambda c: c["experiments"]["net"].update(changes)


def line_schedule(**changes):
    return lambda c: c["experiments"]["line"]["schedule"].update(changes)


def rename_line(name):
    def edit(config):
        config["experiments"][name] = config["experiments"].pop("line")

    return edit


GUARDED = {
    "unknown optimizer": (line(optimizer="lion"), "experiments.line.optimizer"),
    "undefined dataset": (line(dataset="nowhere"), "experiments.line.dataset"),
    "negative learning rate": (line(learning_rate=-1), "experiments.line.learning_rate"),
    "unknown schedule": (line_schedule(kind="linear"), "experiments.line.schedule.kind"),
    "unknown regularization in a list": (
        lambda c: c["experiments"]["net"]["regularization"].update(kind=["l2", "l3"]),
        "experiments.net.regularization.kind.1",
    ),
    "unknown model": (net(model={"kind": "tree"}), "experiments.net.model"),
    "misspelt key": (line(epoch=3), "experiments.line"),
    "unknown generator": (
        lambda c: c["datasets"]["blobs"].update(generator="circles"),
        "datasets.blobs.generator",
    ),
    "test fraction above 1": (
        lambda c: c["datasets"]["blobs"]["split"].update(test_fraction=1.5),
        "datasets.blobs.split.test_fraction",
    ),
    "negative strength": (
        lambda c: c["experiments"]["line"]["regularization"].update(strength=-0.1),
        "experiments.line.regularization.strength",
    ),
    "repeated axis value": (net(learning_rate=[0.1, 0.1]), "experiments.net.learning_rate"),
    "NaN learning rate": (line(learning_rate=float("nan")), "experiments.line.learning_rate"),
    "infinite strength": (
        lambda c: c["experiments"]["line"]["regularization"].update(strength=float("inf")),
        "experiments.line.regularization.strength",
    ),
    "NaN slope of a data set": (
        lambda c: c["datasets"]["article"].update(slope=float("nan")),
        "datasets.article.slope",
    ),
    "integer written as a float": (line(epochs=10.0), "experiments.line.epochs"),
    "batch larger than the training rows": (line(batch_size=500), "experiments.line.batch_size"),
    "piecewise factors of the wrong length": (
        line_schedule(kind="piecewise", boundaries=[10], factors=[1.0]),
        "experiments.line.schedule",
    ),
    "decay rate outside its schedule's range": (
        line_schedule(kind="exponential_per_epoch", decay_rate=1.5),
        "experiments.line.schedule.decay_rate",
    ),
    "reversed x range": (
        lambda c: c["datasets"]["article"].update(x_range=[2, 0]),
        "datasets.article",
    ),
    "option the generator does not have": (
        lambda c: c["datasets"]["article"].update(n_classes=3),
        "datasets.article.n_classes",
    ),
    "fit figure of a classification experiment": (
        lambda c: c["experiments"]["net"]["figures"].update(fit=True),
        "experiments.net.figures.fit",
    ),
    "strength curves without a strength": (
        lambda c: c["experiments"]["net"].update(
            regularization={"kind": "none"}, figures={"strength_curves": True}
        ),
        "experiments.net.figures.strength_curves",
    ),
    "heatmap axis that is not a setting": (
        lambda c: c["experiments"]["line"]["figures"].update(heatmap={"x": "colour", "y": "seed"}),
        "experiments.line.figures.heatmap.x",
    ),
    "heatmap metric of another task": (
        lambda c: c["experiments"]["line"]["figures"].update(
            heatmap={"x": "strength", "y": "learning_rate", "metric": "test_accuracy"}
        ),
        "experiments.line.figures.heatmap.metric",
    ),
    "300-character experiment name": (rename_line("e" * 300), "experiments"),
    "name with a slash": (rename_line("a/b"), "experiments"),
    "a billion epochs": (line(epochs=10**9), "experiments.line.epochs"),
    "one run bigger than a job may be": (
        lambda c: c.update(job_memory_gb=0.5),  # below the backend's own footprint
        "experiments.line",
    ),
    "momentum for an optimizer without it": (line(momentum=0.9), "experiments.line.momentum"),
    "nesterov without momentum": (line(nesterov=True), "experiments.line.nesterov"),
    "schedule option no schedule reads": (
        line_schedule(cycle=True),
        "experiments.line.schedule.cycle",
    ),
    "zero threads": (net(threads=0), "experiments.net.threads"),
    "empty hidden layers": (
        net(model={"kind": "mlp", "hidden": []}),
        "experiments.net.model",
    ),
    "cnn on plain features": (net(model={"kind": "cnn", "filters": [4]}), "experiments.net.model"),
    "model option its kind does not read": (
        net(model={"kind": "mlp", "hidden": [8], "filters": [4]}),
        "experiments.net.model.filters",
    ),
    "missing data file": (
        lambda c: c["datasets"].update(
            blobs={"generator": "file", "path": "data/missing.csv", "target": "y"}
        ),
        "datasets.blobs",
    ),
    "subset larger than the training part": (
        lambda c: c["datasets"]["blobs"]["split"].update(subset=1000),
        "datasets.blobs",
    ),
    "strength given twice, as λ and as a timescale": (
        lambda c: c["experiments"]["net"]["regularization"].update(timescale=[10, 100]),
        "experiments.net.regularization",
    ),
    "training-set size larger than the training part": (
        net(train_size=[30, 1000]),
        "experiments.net.train_size",
    ),
    "optimum figure against a setting the experiment does not have": (
        lambda c: c["experiments"]["net"]["figures"].update(optimum={"x": "momentum"}),
        "experiments.net.figures.optimum.x",
    ),
    "a prediction about another x than the optimum figure's": (
        net(expect={"slope": {"x": "train_size", "statistic": "vertex", "value": -1}}),
        "experiments.net.expect.slope.x",
    ),
    "a prediction that does not name its judged statistic": (
        net(expect={"slope": {"x": "learning_rate", "value": -1}}),
        "experiments.net.expect.slope",
    ),
    "a prediction whose band overlaps its rival's": (
        net(
            expect={
                "slope": {"x": "learning_rate", "statistic": "vertex", "value": 0, "rivals": [0.3]}
            }
        ),
        "experiments.net.expect: the band 0 ± 0.25 overlaps",
    ),
    "an identity guarding a claim there is not": (
        net(
            expect=per_kind(
                identities=[{"group": "l2", "minus": "l2", "difference": 0, "guards": ["l1"]}]
            )
        ),
        "experiments.net.expect.slope.identities[0]",
    ),
    "a prediction for a regularization kind the experiment does not have": (
        net(expect=per_kind()),
        "experiments.net.expect.slope",
    ),
    "strength per kind without one of the experiment's kinds": (
        net(regularization={"kind": ["l2", "decoupled"], "strength": {"l2": [0.1]}}),
        "experiments.net.regularization.strength",
    ),
    "refinement with an odd number of points": (
        net(refine={"points": 3, "rounds": 1}),
        "experiments.net.refine.points",
    ),
    "refinement of a grid that holds λ = 0": (
        lambda c: c["experiments"]["line"].update(
            refine={"points": 2, "rounds": 1},
            regularization={"kind": ["none", "l2"], "strength": [0, 0.01]},
        ),
        "experiments.line.refine: new values are placed in log λ",
    ),
    "a basins figure without the optimum figure it draws the vertices of": (
        lambda c: c["experiments"]["line"]["figures"].update(basins={"x": "learning_rate"}),
        "experiments.line.figures.basins",
    ),
    "validation and test fractions leaving no training rows": (
        lambda c: c["datasets"]["blobs"]["split"].update(validation_fraction=0.8),
        "datasets.blobs",
    ),
}


def dry_run_message(workdir, *args):
    result = snakemake(workdir, "-n", *args, check=False)
    assert result.returncode != 0
    return result.stdout + result.stderr


@pytest.mark.parametrize("edit, key", GUARDED.values(), ids=list(GUARDED))
def test_bad_config_fails_in_a_dry_run_naming_its_key(tmp_path, edit, key):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    edit(config)
    workdir = make_workdir(tmp_path, config)
    result = snakemake(workdir, "--dry-run", "--cores", "1", check=False)
    message = result.stdout + result.stderr
    assert result.returncode != 0
    assert "invalid config" in message and key in message, message[-2000:]
    assert "Traceback" not in message, message[-2000:]
    assert not (workdir / "results").exists() and not (workdir / "data").exists()


OPTIMIZERS = "['sgd', 'momentum', 'adam', 'rmsprop', 'adagrad']"
EXPLAINED = {  # a value no alternative of a oneOf takes: the one whose type it has explains it
    "NaN for a number or a list": (
        line(learning_rate=math.nan),
        "experiments.line.learning_rate: must be a finite number, got nan",
    ),
    "a word in a list of numbers": (
        line(learning_rate=[0.1, "fast"]),
        "experiments.line.learning_rate.1: 'fast' is not of type 'number'",
    ),
    "an unknown name": (
        line(optimizer="lion"),
        f"experiments.line.optimizer: 'lion' is not one of {OPTIMIZERS}",
    ),
    "an unknown name in a list": (
        line(optimizer=["sgd", "lion"]),
        f"experiments.line.optimizer.1: 'lion' is not one of {OPTIMIZERS}",
    ),
    "a model's option of the wrong type": (
        net(model={"kind": "mlp", "hidden": False}),
        "experiments.net.model.hidden: False is not of type 'array'",
    ),
}


@pytest.mark.parametrize("edit, expected", EXPLAINED.values(), ids=list(EXPLAINED))
def test_a_value_of_no_allowed_shape_is_explained_by_the_shape_it_has(edit, expected):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    edit(config)
    assert checks.problems(config, SCHEMA) == [expected]


def test_every_problem_of_a_config_is_listed_at_once(tmp_path):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    for edit, _ in (GUARDED["unknown optimizer"], GUARDED["negative strength"]):
        edit(config)
    schema_keys = ["experiments.line.optimizer", "experiments.line.regularization.strength"]
    message = dry_run_message(make_workdir(tmp_path / "a", config))
    assert "2 problem(s)" in message and all(key in message for key in schema_keys), message
    config = yaml.safe_load(TEST_CONFIG.read_text())
    later = [
        "batch larger than the training rows",
        "momentum for an optimizer without it",
        "fit figure of a classification experiment",
        "schedule option no schedule reads",
    ]
    for name in later:
        GUARDED[name][0](config)
    message = dry_run_message(make_workdir(tmp_path / "b", config))
    assert f"{len(later)} problem(s)" in message, message
    assert all(GUARDED[name][1] in message for name in later), message


def test_a_key_given_twice_in_the_yaml_file_is_refused(tmp_path):
    workdir = make_workdir(tmp_path)
    text = (workdir / "config/config.yaml").read_text()
    (workdir / "config/config.yaml").write_text(text + "experiments: {}\n")
    message = dry_run_message(workdir)
    assert "invalid config" in message and "'experiments' is given twice" in message, message


def _planned_experiments(output: str) -> set[str]:
    return set(re.findall(r"experiment=(\w+)", output))


def test_a_configfile_on_the_command_line_is_the_whole_study(tmp_path):
    workdir = make_workdir(tmp_path)  # its config/config.yaml has experiments line and net
    config = yaml.safe_load(TEST_CONFIG.read_text())
    mine = {
        "datasets": {
            "article": {"generator": "sine", "n": 60, "split": {"validation_fraction": 0.2}}
        },
        "experiments": {"mine": {**config["experiments"]["line"], "figures": {}}},
    }
    (workdir / "my.yaml").write_text(yaml.safe_dump(mine))
    output = snakemake(workdir, "-n", "--configfile", "my.yaml").stdout
    assert _planned_experiments(output) == {"mine"}
    # --configfile takes every word after it as a file: targets go before it
    target = "results/tables/mine/runs.csv"
    assert "mine" in snakemake(workdir, "-n", target, "--configfile", "my.yaml").stdout


def test_a_malformed_config_file_is_named_with_its_line(tmp_path):
    workdir = make_workdir(tmp_path)
    with open(workdir / "config/config.yaml", "a") as stream:
        stream.write("experiments: [unclosed\n")
    message = dry_run_message(workdir)
    assert "invalid config" in message and "config/config.yaml" in message, message
    assert "line" in message and "Traceback" not in message, message[-2000:]


BAD_TABLES = {
    "target column that does not exist": ({"target": "outcome"}, "target column 'outcome'"),
    "text feature": ({"target": "y", "features": ["x", "colour"]}, "feature column 'colour'"),
    "NaN value": ({"target": "y", "features": ["x", "gap"]}, "column 'gap' has 1 missing"),
    "class too small for a stratified split": (
        {"target": "rare", "features": ["x"], "split": {"stratify": True, "shuffle": True}},
        "class 2 has 1 row",
    ),
}


@pytest.mark.parametrize("options, message", BAD_TABLES.values(), ids=list(BAD_TABLES))
def test_a_bad_data_file_fails_in_a_dry_run_naming_file_and_column(tmp_path, options, message):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["datasets"]["blobs"] = {"generator": "file", "path": "data/table.csv", **options}
    workdir = make_workdir(tmp_path, config)
    (workdir / "data").mkdir()
    rows = ["x,y,colour,gap,rare"]  # rare: classes 0 and 1, and class 2 in one row only
    for i in range(40):
        colour, gap, rare = "red" if i % 3 else "blue", "" if i == 5 else i, 2 if i == 7 else i % 2
        rows.append(f"{i / 10},{i % 2},{colour},{gap},{rare}")
    (workdir / "data/table.csv").write_text("\n".join(rows) + "\n")
    message_text = dry_run_message(workdir, "--cores", "1")
    assert "invalid config" in message_text and "datasets.blobs" in message_text, message_text
    assert "data/table.csv" in message_text and message in message_text, message_text[-2000:]
    assert "Traceback" not in message_text, message_text[-2000:]
    assert not (workdir / "results").exists()

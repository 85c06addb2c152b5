"""Training-set sizes swept inside one split, and strengths written as a timescale or as η0·λ."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from decaylab import checks, data, grid, optima, runner

EXPERIMENT = {
    "dataset": "moons",
    "model": {"kind": "mlp", "hidden": [4]},
    "optimizer": "adam",
    "learning_rate": [0.01, 0.05],
    "epochs": 3,
    "batch_size": 16,
    "train_size": [40, 70],
    "regularization": {"kind": "decoupled_lr", "timescale": [2.0, 20.0]},
    "seeds": [0],
}


def test_each_training_set_size_is_a_shard_of_its_own():
    shards = grid.shards("sizes", EXPERIMENT)
    assert [s.name for s in shards] == ["adam_n40", "adam_n70"]
    assert [s.settings["train_size"] for s in shards] == [40, 70]
    assert all({"timescale", "learning_rate"} <= set(s.runs[0]) for s in shards)


def test_a_timescale_trains_with_the_strength_it_stands_for(moons):
    train, test = moons
    shard = grid.shards("sizes", EXPERIMENT)[0].as_params()
    result = runner.train(shard, train, test)
    updates = int(np.ceil(40 / 16))  # M = ⌈N/B⌉ for the 40 rows of the shard
    expected = 1.0 / (result.runs["learning_rate"] * result.runs["timescale"] * updates)
    np.testing.assert_allclose(result.runs["strength"], expected, rtol=1e-12)
    assert (result.runs["train_size"] == 40).all()
    assert (result.runs["updates_per_epoch"] == updates).all()
    # the same runs written with that strength train to the same numbers
    explicit = {
        **shard,
        "runs": [
            {k: v for k, v in run.items() if k != "timescale"} | {"strength": s}
            for run, s in zip(shard["runs"], expected, strict=True)
        ],
    }
    again = runner.train(explicit, train, test)
    np.testing.assert_allclose(again.runs["train_loss"], result.runs["train_loss"], rtol=1e-6)


def test_a_product_gives_the_strength_divided_by_the_learning_rate():
    run = grid.resolve_strength({"learning_rate": 0.02, "lr_times_strength": 1e-4}, 7)
    assert run["strength"] == pytest.approx(1e-4 / 0.02)
    assert grid.resolve_strength({"learning_rate": 0.1, "strength": 0.3}, 7)["strength"] == 0.3


def test_a_subsample_keeps_class_shares_and_grows_by_adding_rows(moons):
    train, _ = moons
    small, large = data.subsample(train, 30), data.subsample(train, 60)
    assert len(small.y) == 30 and len(large.y) == 60
    share = np.bincount(train.y.astype(int)) / len(train.y)
    np.testing.assert_allclose(np.bincount(large.y.astype(int)) / 60, share, atol=1 / 60)
    rows = {tuple(r) for r in large.x}
    assert all(tuple(r) in rows for r in small.x)
    with pytest.raises(ValueError, match="subset must be in"):
        data.subsample(train, len(train.y) + 1)


def test_an_experiment_without_sizes_keeps_its_shard_spec():
    one = {k: v for k, v in EXPERIMENT.items() if k != "train_size"}
    (shard,) = grid.shards("one", one)
    assert shard.name == "adam" and "train_size" not in shard.as_params()


def test_a_budget_crossed_as_a_factor_is_a_shard_per_value_whose_anneal_scales_with_it(moons):
    """``epochs: [a, b]``: one shard per budget; a ``wsd`` schedule without a horizon anneals over
    each shard's own training, so the horizon follows the budget and is not a group of λ*."""
    train, test = moons
    experiment = {**EXPERIMENT, "epochs": [2, 6], "schedule": {"kind": "wsd"},
                  "regularization": {"kind": "l2", "strength": [0.0, 0.01]}}  # fmt: skip
    experiment.pop("train_size")
    shards = grid.shards("budget", experiment)
    assert [s.name for s in shards] == ["adam_e2", "adam_e6"]
    tables = [runner.train(s.as_params(), train, test).runs for s in shards]
    for epochs, runs in zip((2, 6), tables, strict=True):
        updates = runs["updates_per_epoch"].iloc[0]
        assert (runs["decay_steps"] == epochs * updates).all()
        assert (runs["final_learning_rate"] < runs["learning_rate"]).all()  # annealed at its end
    both = pd.concat(tables, ignore_index=True)
    assert "decay_steps" not in optima.groups_of(both, "epochs")
    assert optima.groups_of(both, "epochs") == ["learning_rate"]


def test_a_crossed_budget_is_an_axis_a_prediction_and_a_figure_may_take():
    """The default study's ``budget`` experiment fits λ* against ``epochs``; on a single budget
    the figure (and with it the prediction, which shares its x) is refused, naming the key."""
    root = Path(__file__).resolve().parents[1]
    schema = yaml.safe_load((root / "workflow/schemas/config.schema.yaml").read_text())
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    budget = config["experiments"]["budget"]
    assert isinstance(budget["epochs"], list) and budget["expect"]["slope"]["x"] == "epochs"
    assert checks.problems(config, schema) == []
    budget["epochs"] = 100
    found = checks.problems(config, schema)
    assert any(p.startswith("experiments.budget.figures.optimum.x: 'epochs'") for p in found)

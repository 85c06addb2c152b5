"""Sampled axes: reproducible from their seed, inside their bounds, part of the shard's identity,
and checked like any axis."""

from pathlib import Path

import numpy as np
import yaml

from decaylab import checks, grid

SCHEMA = yaml.safe_load(
    (Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml").read_text()
)
TEST_CONFIG = Path(__file__).parent / "workflow/config.yaml"


def test_a_sampled_axis_is_reproducible_from_its_seed_and_inside_its_bounds():
    axis = {"log_uniform": [1e-4, 1e-1], "samples": 50, "seed": 3}
    points = np.array(grid.as_list(axis))
    assert points.tolist() == grid.as_list(dict(axis))  # same seed, same points
    assert points.tolist() != grid.as_list({**axis, "seed": 4})
    assert len(points) == 50 and (points >= 1e-4).all() and (points <= 1e-1).all()
    assert (np.diff(points) > 0).all()
    # log-uniform: the logs are uniform, so about half the points lie below the geometric mean
    assert 15 <= (points < np.sqrt(1e-4 * 1e-1)).sum() <= 35
    uniform = np.array(grid.as_list({"uniform": [0.0, 0.9], "samples": 5, "seed": 0}))
    expected = np.sort(np.random.RandomState(0).uniform(0.0, 0.9, 5))
    np.testing.assert_array_equal(uniform, expected)


def config_with(axis):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["experiments"]["net"]["learning_rate"] = axis
    return config


def test_the_sampled_points_decide_which_shards_rerun():
    def digests(axis):
        return [s.digest() for s in grid.study_shards(config_with(axis))]

    axis = {"log_uniform": [1e-3, 1.0], "samples": 4, "seed": 0}
    assert digests(axis) == digests(dict(axis))
    assert digests(axis) != digests({**axis, "seed": 1})
    (adam,) = [s for s in grid.study_shards(config_with(axis)) if s.name == "adam"]
    assert sorted({run["learning_rate"] for run in adam.runs}) == grid.as_list(axis)


def test_a_sampled_axis_is_checked_like_any_axis():
    good = config_with({"log_uniform": [1e-3, 1.0], "samples": 4})
    assert checks.problems(good, SCHEMA) == []
    reversed_bounds = config_with({"log_uniform": [1.0, 1e-3], "samples": 4})
    assert any("bounds must increase" in p for p in checks.problems(reversed_bounds, SCHEMA))
    negative = config_with({"uniform": [-1.0, 1.0], "samples": 8, "seed": 0})
    assert any(
        "experiments.net.learning_rate: sampled points" in p
        for p in checks.problems(negative, SCHEMA)
    )
    no_bounds = config_with({"samples": 4})
    assert any("experiments.net.learning_rate" in p for p in checks.problems(no_bounds, SCHEMA))


SOBOL = {
    "samples": 16,
    "seed": 2,
    "axes": {"learning_rate": {"log_uniform": [1e-3, 1.0]}, "strength": {"uniform": [0.0, 0.1]}},
}


def sobol_config(design=SOBOL, **changes):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    net = config["experiments"]["net"]
    del net["learning_rate"]
    net["regularization"] = {"kind": "decoupled"}
    net["sobol"] = design
    net.update(changes)
    return config


def test_a_sobol_design_fills_the_box_one_point_per_stratum_of_every_axis():
    points = grid.sobol_design({"sobol": SOBOL})
    assert points == grid.sobol_design({"sobol": dict(SOBOL)})  # reproducible from its seed
    assert points != grid.sobol_design({"sobol": {**SOBOL, "seed": 3}})
    # a (0, m, d)-net: each axis alone has exactly one of 16 points in each sixteenth of its range
    logs = (np.log(points["learning_rate"]) - np.log(1e-3)) / (np.log(1.0) - np.log(1e-3))
    for unit in (logs, np.array(points["strength"]) / 0.1):
        assert sorted(np.floor(unit * 16).astype(int)) == list(range(16))


def test_the_design_is_zipped_and_crossed_with_the_seeds_and_other_axes():
    config = sobol_config(seeds=[0, 1])
    (adam,) = [s for s in grid.study_shards(config) if s.name == "adam"]
    points = grid.sobol_design({"sobol": SOBOL})
    assert len(adam.runs) == 16 * 2
    pairs = {(run["learning_rate"], run["strength"]) for run in adam.runs}
    assert pairs == set(zip(points["learning_rate"], points["strength"], strict=True))
    other = [s for s in grid.study_shards(sobol_config({**SOBOL, "seed": 5})) if s.name == "adam"]
    assert other[0].digest() != adam.digest()  # the points decide what re-runs


def test_a_sobol_design_is_checked():
    assert checks.problems(sobol_config(), SCHEMA) == []
    odd = checks.problems(sobol_config({**SOBOL, "samples": 12}), SCHEMA)
    assert any("experiments.net.sobol.samples: 12 is not a power of 2" in p for p in odd)
    unread = {**SOBOL, "axes": {**SOBOL["axes"], "momentum": {"uniform": [0.1, 0.9]}}}
    assert any(
        "experiments.net.sobol.axes.momentum: no kind" in p
        for p in checks.problems(sobol_config(unread), SCHEMA)
    )
    twice = checks.problems(sobol_config(learning_rate=0.1), SCHEMA)
    assert any("experiments.net.sobol.axes.learning_rate" in p and "once" in p for p in twice)
    outside = {**SOBOL, "axes": {**SOBOL["axes"], "strength": {"uniform": [-1.0, 0.1]}}}
    assert any(
        "experiments.net.sobol.axes.strength: points" in p
        for p in checks.problems(sobol_config(outside), SCHEMA)
    )

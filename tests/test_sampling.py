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

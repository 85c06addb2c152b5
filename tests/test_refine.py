"""Refinement rounds: where the new λ values go on constructed basins, and the round's plan."""

import numpy as np
import pandas as pd
import pytest

from decaylab import grid, optima, refine

GRID = 10.0 ** np.arange(-6, -0.9, 0.5)  # half-decade steps, 1e-6 … 1e-1


def basin(values, vertex):
    """An asymmetric basin with its minimum at ln λ = ``vertex``: e^d − d with d = ln λ − vertex
    (not a parabola, so a three-point parabola misses its vertex by O(h²))."""
    d = np.log(values) - vertex
    return np.exp(d) - d


def parabola_vertex(values, means):
    return np.log(optima.parabola(means[None], values[None])[0][0])


@pytest.mark.parametrize("truth", [np.log(10**-3.3), np.log(10**-4.05), np.log(10**-2.7)])
def test_new_points_bracket_a_vertex_between_grid_points_and_move_the_estimate_to_it(truth):
    means = basin(GRID, truth)
    new, placed = refine.new_values(GRID, means, 4)
    assert placed == "inside" and len(new) == 4
    assert np.sum(np.log(new) < truth) == 2 and np.sum(np.log(new) > truth) == 2
    before = parabola_vertex(GRID, means)
    middles = np.sqrt(GRID[:-1] * GRID[1:])  # the two nearest on each side of the estimate
    near = [*middles[np.log(middles) < before][-2:], *middles[np.log(middles) >= before][:2]]
    np.testing.assert_allclose(new, near, rtol=1e-3)
    grown = np.sort(np.concatenate([GRID, new]))
    after = parabola_vertex(grown, basin(grown, truth))
    assert abs(after - truth) < abs(before - truth)


def test_a_vertex_on_the_grid_edge_extends_the_grid_by_its_spacing():
    below, placed = refine.new_values(GRID, basin(GRID, np.log(1e-8)), 4)
    assert placed == "below the grid"
    np.testing.assert_allclose(below, [10**-8, 10**-7.5, 10**-7, 10**-6.5], rtol=1e-3)
    above, placed = refine.new_values(GRID, basin(GRID, np.log(3.0)), 2)
    assert placed == "above the grid"
    np.testing.assert_allclose(above, [10**-0.5, 1.0], rtol=1e-3)


def test_a_row_that_diverged_everywhere_gets_nothing_and_a_vertex_near_the_edge_gets_fewer():
    assert refine.new_values(GRID, np.full(len(GRID), np.inf), 4)[1] == "diverged"
    means = basin(GRID, np.log(10**-5.6))  # arg-min at 10^-5.5, one interval below it
    new, placed = refine.new_values(GRID, means, 4)
    assert placed == "inside" and len(new) == 3 and np.sum(new < 10**-5.6) == 1


def _spec(shard, runs):
    return {"experiment": "e", "shard": shard, "optimizer": "sgd", "epochs": 3, "runs": runs}


def test_a_round_adds_each_row_its_values_with_every_seed_to_the_shard_it_came_from():
    truths = {0.1: np.log(10**-3.3), 1.0: np.log(10**-4.3)}
    runs = [{"regularization": "l2", "learning_rate": lr, "strength": float(s), "seed": seed}
            for lr in truths for s in GRID for seed in (0, 1)]  # fmt: skip
    specs = [_spec("sgd_block1of2", runs[:20]), _spec("sgd_block2of2", runs[20:])]
    table = pd.DataFrame(runs).assign(diverged=False)
    table["validation_loss"] = [basin(r["strength"], truths[r["learning_rate"]]) + r["seed"]
                                for r in runs]  # fmt: skip
    shards, rows = refine.plan_round(specs, table, "validation_loss", 2, 1)
    assert list(shards) == ["sgd_round1"]
    spec = shards["sgd_round1"]
    assert spec["round"] == 1 and spec["epochs"] == 3 and len(spec["runs"]) == 2 * 2 * 2
    for lr, truth in truths.items():
        added = sorted({r["strength"] for r in spec["runs"] if r["learning_rate"] == lr})
        assert np.log(added[0]) < truth < np.log(added[1])
        assert {r["seed"] for r in spec["runs"] if r["learning_rate"] == lr} == {0, 1}
    assert list(rows["placed"]) == ["inside", "inside"] and list(rows["tried"]) == [11, 11]
    assert grid.round_of("sgd_round1") == 1 and grid.round_of("sgd_block1of2") == 0
    assert grid.base_shard("sgd_block2of2") == "sgd" == grid.base_shard("sgd_round3")


def test_refinement_rounds_are_part_of_an_experiments_design():
    """Declaring ``refine`` moves the design digest (a claim on refined points is confirmatory
    only where its design commit already had it); a figure or a description does not."""
    import yaml

    from decaylab import timeline

    experiment = {"dataset": "d", "learning_rate": [0.1, 1.0], "expect": {"slope": {"x": "lr"}}}

    def digest(**changes):
        text = yaml.safe_dump({"experiments": {"e": {**experiment, **changes}}})
        return timeline._design_digests(text)["e"]

    assert digest(refine={"points": 4, "rounds": 1}) != digest()
    assert digest(refine={"points": 4, "rounds": 1}) != digest(refine={"points": 2, "rounds": 1})
    assert digest(figures={"basins": {"x": "lr"}}, description="words") == digest()


def test_with_a_decay_gate_the_values_go_where_the_judged_estimator_looks():
    """D = λ·Σ_t η_t grows with λ: with ``least_decay`` a row's values are placed on the λ whose
    every seed reached it. A basin whose bottom lies below that boundary gets nothing (values
    beyond it would not reach D); one whose bottom lies above it is refined there."""
    runs = [{"learning_rate": lr, "strength": float(s), "seed": seed}
            for lr in (0.1, 1.0) for s in GRID for seed in (0, 1)]  # fmt: skip
    truths = {0.1: np.log(10**-4.3), 1.0: np.log(10**-2.3)}
    table = pd.DataFrame(runs).assign(diverged=False)
    table["validation_loss"] = [basin(r["strength"], truths[r["learning_rate"]]) for r in runs]
    table["cumulative_decay"] = table["strength"] * 3000.0  # D ≥ 3 from λ = 1e-3 on (5 λ)
    shards, rows = refine.plan_round([_spec("sgd", runs)], table, "validation_loss", 2, 1, 3.0)
    placed = dict(zip(rows["learning_rate"], rows["placed"], strict=True))
    assert placed == {0.1: "at the decay gate's edge", 1.0: "inside"}
    added = sorted({r["strength"] for r in shards["sgd_round1"]["runs"]})
    assert len(added) == 2 and added[0] > 1e-3 and np.log(added[0]) < truths[1.0] < np.log(added[1])
    for least in (301.0, 1e6):  # two λ reach D ≥ 301 (the gate needs three), none reach 1e6
        _, rows = refine.plan_round([_spec("sgd", runs)], table, "validation_loss", 2, 1, least)
        assert set(rows["placed"]) == {"too few λ reach the decay gate"}

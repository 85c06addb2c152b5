"""The verdict on constructed intervals, and claims from a slopes table (the pages' claims
tables are tested with every generated block, in test_docs_blocks.py)."""

import numpy as np
import pandas as pd
import pytest

from decaylab import claims


@pytest.mark.parametrize(
    ("prediction", "rivals", "low", "high", "expected"),
    [
        (0, [-1], -0.10, 0.10, claims.AGREES),
        (0, [-1], 0.20, 0.40, claims.AGREES),  # meets 0 ± 0.25, misses −1 ± 0.25
        (0, [-1], 0.30, 0.50, claims.DISAGREES),  # misses 0 ± 0.25
        (1, [0], -1.40, -0.90, claims.DISAGREES),
        (0, [-1], -0.80, 0.10, claims.INCONCLUSIVE),  # meets both bands
        (1, [0], 0.20, 1.30, claims.INCONCLUSIVE),
        (0, [], -5.0, 5.0, claims.AGREES),  # no rival to tell apart
        (0, [-1], np.nan, np.nan, claims.INCONCLUSIVE),  # one seed: no interval
        (-1, [0], -1.26, -1.26, claims.DISAGREES),  # just outside: the band is closed
    ],
)
def test_verdict(prediction, rivals, low, high, expected):
    assert claims.verdict(prediction, rivals, low, high, margin=0.25) == expected


def test_a_zero_margin_is_the_interval_against_the_points():
    assert claims.verdict(0, [1], -0.01, 0.01, margin=0) == claims.AGREES
    assert claims.verdict(0, [1], 0.01, 0.02, margin=0) == claims.DISAGREES
    assert claims.verdict(0, [1], -0.5, 1.0, margin=0) == claims.INCONCLUSIVE


def slopes_table() -> pd.DataFrame:
    rows = []
    for kind, (slope, low, high) in {"l2": (0.05, -0.1, 0.2), "decoupled": (0.1, 0.0, 0.3)}.items():
        for statistic in ("argmin", "parabola", "edge"):
            rows.append(
                dict(
                    regularization=kind,
                    x="learning_rate",
                    statistic=statistic,
                    slope=slope,
                    ci95_low=low,
                    ci95_high=high,
                    n_x=5,
                    n_fitted=4,
                    n_unconverged=1,
                    n_flagged=0,
                    n_seeds=3,
                    selected_by="validation_loss",
                )
            )
    return pd.DataFrame(rows)


def test_claims_pair_each_prediction_with_each_statistic_of_its_group():
    expect = {
        "slope": {
            "x": "learning_rate",
            "by": "regularization",
            "values": {"l2": 0, "decoupled": 1},
            "rivals": {"l2": [-1], "decoupled": [0]},
        }
    }
    table = claims.judge("e", expect, slopes_table())
    assert len(table) == 6
    verdicts = table.set_index(["group", "statistic"])["verdict"]
    assert (verdicts.loc["l2"] == claims.AGREES).all()
    assert (verdicts.loc["decoupled"] == claims.DISAGREES).all()  # [0, 0.3] misses 1 ± 0.25
    assert set(table["rivals"]) == {"-1", "0"}


def test_a_claim_without_groups_takes_the_one_slope():
    slopes = slopes_table()
    slopes = slopes[slopes["regularization"] == "l2"].drop(columns="regularization")
    expect = {"slope": {"x": "train_size", "value": -1, "rivals": [0], "margin": 0.5}}
    table = claims.judge("timescale", expect, slopes)
    assert list(table["verdict"]) == [claims.DISAGREES] * 3  # [−0.1, 0.2] misses −1 ± 0.5
    assert (table["margin"] == 0.5).all()

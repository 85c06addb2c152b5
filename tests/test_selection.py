"""Selection on validation, never on test; intervals and the significance flag against
scipy's own computation on fixed numbers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from decaylab import tables

# two settings, three seeds each: A is better on validation, B on test
VALUES = {
    "A": {"validation_loss": [0.10, 0.12, 0.11], "test_loss": [0.50, 0.52, 0.51]},
    "B": {"validation_loss": [0.20, 0.21, 0.19], "test_loss": [0.30, 0.31, 0.29]},
    "C": {"validation_loss": [0.09, 0.16, 0.11], "test_loss": [0.40, 0.41, 0.42]},
}
STRENGTH = {"A": 0.01, "B": 0.1, "C": 0.001}


def runs():
    return pd.DataFrame(
        [
            {
                "experiment": "e",
                "strength": STRENGTH[name],
                "seed": seed,
                "diverged": False,
                "validation_loss": values["validation_loss"][seed],
                "test_loss": values["test_loss"][seed],
            }
            for name, values in VALUES.items()
            for seed in range(3)
        ]
    )


def row(summary, name):
    return summary[summary["strength"] == STRENGTH[name]].iloc[0]


def test_selection_uses_validation_and_never_test():
    summary = tables.summarize(runs(), "validation_loss")
    chosen = summary[summary["selected"]]
    assert len(chosen) == 1 and chosen["strength"].item() == STRENGTH["A"]
    # test prefers B, and is only reported
    assert row(summary, "B")["test_loss_mean"] < row(summary, "A")["test_loss_mean"]


def test_the_interval_is_students_t_over_seeds():
    summary = tables.summarize(runs(), "validation_loss")
    for name, values in VALUES.items():
        seeds = np.array(values["test_loss"])
        low, high = stats.t.interval(0.95, len(seeds) - 1, loc=seeds.mean(), scale=stats.sem(seeds))
        assert row(summary, name)["test_loss_ci95"] == pytest.approx((high - low) / 2, rel=1e-12)


def test_the_flag_is_welchs_test_against_the_selected_setting():
    summary = tables.summarize(runs(), "validation_loss")
    best = np.array(VALUES["A"]["validation_loss"])
    for name, values in VALUES.items():
        other = np.array(values["validation_loss"])
        # Welch–Satterthwaite by hand, scipy only for the t distribution
        v1, v2 = other.var(ddof=1) / 3, best.var(ddof=1) / 3
        t = (other.mean() - best.mean()) / np.sqrt(v1 + v2)
        dof = (v1 + v2) ** 2 / (v1**2 / 2 + v2**2 / 2)
        p = 2 * stats.t.sf(abs(t), dof) if name != "A" else 1.0
        assert bool(row(summary, name)["indistinguishable"]) == (p >= 0.05), (name, p)
    assert not row(summary, "B")["indistinguishable"] and row(summary, "C")["indistinguishable"]


def test_a_diverged_setting_is_never_selected():
    frame = runs()
    frame.loc[frame["strength"] == STRENGTH["A"], "diverged"] = True
    summary = tables.summarize(frame, "validation_loss")
    assert summary[summary["selected"]]["strength"].item() == STRENGTH["C"]


def test_selecting_by_a_test_metric_is_refused():
    with pytest.raises(ValueError, match="select must be one of"):
        tables.summarize(runs(), "test_loss")


def test_the_end_of_run_digest_names_the_selection_and_its_intervals():
    frame = runs().assign(test_mse=lambda f: f["test_loss"])
    digest = tables.findings(tables.summarize(frame, "validation_loss"))
    assert digest.startswith("e: selected strength=0.01 by validation loss 0.11 ± ")
    assert "test mse 0.51 ± " in digest and "3 seeds" in digest

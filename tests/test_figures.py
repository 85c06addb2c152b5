"""Figures never crash on a valid config: all runs diverged, one seed, one value per axis, a
metric that is NaN for the task — each gives a figure, one that says what it cannot show."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from decaylab import data, figures, grid, optima, runner, tables  # noqa: E402

FIGURES = {
    "fit": {},
    "learning_curves": {"hue": "schedule"},
    "learning_rates": {},
    "heatmap": {"x": "strength", "y": "learning_rate"},
    "strength_curves": {},
    "optimum": {"x": "learning_rate"},
    "equilibrium": {},
    "scatter": {"x": "strength", "y": "learning_rate"},
}


def study_tables(experiment, dataset):
    train, validation, test = data.split_dataset(dataset, validation_fraction=0.2)
    (shard,) = grid.shards("e", experiment)
    result = runner.train(shard.as_params(), train, test, validation=validation)
    runs = result.runs
    frames = {
        "runs": runs,
        "summary": tables.summarize(runs, "validation_mse"),
        "history": result.history,
        "curves": runner.curves(shard.as_params(), result.params, train, test),
        "optima": optima.optima(runs, "learning_rate", "validation_mse"),
        "slopes": optima.slopes(runs, "learning_rate", "validation_mse", resamples=50),
    }
    return frames, train, test


BASE = {"dataset": "d", "model": "linear", "epochs": 5, "batch_size": 32}
CASES = {
    "every run diverged": {
        **BASE,
        "learning_rate": 1000.0,
        "regularization": {"kind": "l2", "strength": [0.1, 1.0]},
        "seeds": [0, 1],
    },
    "one seed and one value per axis": {
        **BASE,
        "learning_rate": 0.01,
        "regularization": {"kind": "l2", "strength": 0.1},
    },
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_draws_something(case, name):
    frames, train, test = study_tables(CASES[case], data.linear())
    figure = figures.draw(name, frames, train, test, **FIGURES[name])
    assert figure.axes, "an empty figure"
    text = " ".join(t.get_text() for ax in figure.axes for t in ax.texts)
    if case == "every run diverged" and name in (
        "fit",
        "strength_curves",
        "optimum",
        "equilibrium",
        "scatter",
    ):
        assert "nothing to draw" in text and "diverged" in text


def test_a_metric_the_task_does_not_have_is_said_not_drawn():
    frames, train, test = study_tables(CASES["one seed and one value per axis"], data.linear())
    figure = figures.draw("learning_curves", frames, train, test, metric="test_accuracy")
    text = " ".join(t.get_text() for t in figure.axes[0].texts)
    assert "nothing to draw" in text and "not measured" in text


def test_a_band_is_the_seeds_spread_of_the_setting_chosen_on_validation():
    """Two learning rates, three seeds: the band at each λ is the s.d. over the seeds of the
    learning rate with the better validation loss — not a pool of both learning rates."""
    import numpy as np
    import pandas as pd

    rows = []
    for strength in (0.1, 1.0):
        for lr, offset in ((0.01, 5.0), (0.1, 0.0)):  # lr 0.1 is better on validation
            for seed, noise in enumerate((-0.1, 0.0, 0.3)):
                rows.append(
                    {
                        "experiment": "e",
                        "shard": "sgd",
                        "run": len(rows),
                        "optimizer": "sgd",
                        "regularization": "l2",
                        "strength": strength,
                        "learning_rate": lr,
                        "seed": seed,
                        "diverged": False,
                        "validation_loss": 1.0 + offset + noise,
                        "test_mse": 2.0 + offset + strength + noise,
                        "weight_norm": 1.0 + seed,
                    }
                )
    runs = pd.DataFrame(rows)
    figure = figures.strength_curves(runs)
    band = figure.axes[0].collections[0].get_paths()[0].vertices
    chosen = runs[runs["learning_rate"] == 0.1]
    for strength, group in chosen.groupby("strength"):
        at = band[np.isclose(band[:, 0], strength), 1]
        mean, sd = group["test_mse"].mean(), group["test_mse"].std()
        np.testing.assert_allclose([at.min(), at.max()], [mean - sd, mean + sd], rtol=1e-9)
    assert "learning rate η0 by validation loss" in figure.texts[0].get_text()

"""Figures never crash on a valid config: all runs diverged, one seed, one value per axis, a
metric that is NaN for the task — each gives a figure, one that says what it cannot show."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from decaylab import data, equilibrium, figures, grid, inference, runner, tables  # noqa: E402

GATES = inference.Gates()

FIGURES = {
    "fit": {},
    "learning_curves": {"hue": "schedule"},
    "learning_rates": {},
    "heatmap": {"x": "strength", "y": "learning_rate"},
    "strength_curves": {},
    "optimum": {"x": "learning_rate"},
    "basins": {"x": "learning_rate", "select": "validation_mse"},
    "equilibrium": {},
    "scatter": {"x": "strength", "y": "learning_rate"},
}


def study_tables(experiment, dataset):
    train, validation, test = data.split_dataset(dataset, validation_fraction=0.2)
    (shard,) = grid.shards("e", experiment)
    result = runner.train(shard.as_params(), train, test, validation=validation)
    runs = result.runs
    optimum = inference.optimum_tables(runs, "learning_rate", "validation_mse", None, GATES)
    frames = {
        "split": data.Parts(train, validation, test),
        "runs": runs,
        "summary": tables.summarize(runs, "validation_mse"),
        "history": result.history,
        "curves": runner.curves(shard.as_params(), result.params, train, test),
        **dict(zip(["optima", "slopes"], optimum[:2], strict=True)),
        "equilibrium_slope": equilibrium.slope(runs),
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
    figure = figures.make(name, frames, **FIGURES[name])
    assert figure.axes, "an empty figure"
    text = " ".join(t.get_text() for ax in figure.axes for t in ax.texts)
    if case == "every run diverged" and name in (
        "fit",
        "strength_curves",
        "optimum",
        "basins",
        "equilibrium",
        "scatter",
    ):
        assert "nothing to draw" in text and "diverged" in text


def test_a_metric_the_task_does_not_have_is_said_not_drawn():
    frames, train, test = study_tables(CASES["one seed and one value per axis"], data.linear())
    figure = figures.make("learning_curves", frames, metric="test_accuracy")
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
    figure = figures.make("strength_curves", {"runs": runs})
    band = figure.axes[0].collections[0].get_paths()[0].vertices
    chosen = runs[runs["learning_rate"] == 0.1]
    for strength, group in chosen.groupby("strength"):
        at = band[np.isclose(band[:, 0], strength), 1]
        mean, sd = group["test_mse"].mean(), group["test_mse"].std()
        np.testing.assert_allclose([at.min(), at.max()], [mean - sd, mean + sd], rtol=1e-9)
    assert "learning rate η0 by validation loss" in figure.texts[0].get_text()


# prepare: what each figure shows, as frames, checked against the tables without drawing


def _summary(accuracy=False):
    """A 2 × 2 grid (strength × learning rate), one kind, two seeds, with a selection."""
    import pandas as pd

    rows = []
    for strength in (0.01, 1.0):
        for lr in (0.1, 1.0):
            value = strength + lr  # the best: strength 0.01, lr 0.1
            rows.append(
                {
                    "experiment": "e",
                    "regularization": "l2",
                    "strength": strength,
                    "learning_rate": lr,
                    "n_seeds": 2,
                    "diverged": lr == 1.0 and strength == 1.0,
                    "test_mse_mean": value,
                    "test_accuracy_mean": 1 / value if accuracy else None,
                    "selected": (strength, lr) == (0.01, 0.1),
                    "selected_by": "validation_loss",
                    "indistinguishable": strength == 0.01,
                }
            )
    return pd.DataFrame(rows)


def test_heatmap_prepares_one_cell_per_grid_point_largest_y_on_top():
    prepared = figures.prepare("heatmap", {"summary": _summary()}, x="strength", y="learning_rate")
    cells = prepared.frames["cells"].set_index(["r", "c"])
    assert cells.loc[(0, 0), "learning_rate"] == 1.0 and cells.loc[(0, 0), "strength"] == 0.01
    assert cells.loc[(1, 0), "value"] == 0.01 + 0.1 and cells.loc[(1, 0), "selected"]
    assert cells.loc[(0, 1), "diverged"] and cells["selected"].sum() == 1
    assert list(cells.loc[cells["close"]].index.get_level_values("c")) == [0, 0]
    scale = prepared.notes["scale"]
    assert scale["cmap"] == "viridis_r" and scale["better"] == "lower"  # an MSE
    assert "strength λ 0.01 is the smallest tried" in prepared.notes["title"]
    assert "learning rate η0 0.1 is the smallest tried" in prepared.notes["title"]


def test_heatmap_and_scatter_orient_an_accuracy_higher_is_better():
    for name in ("heatmap", "scatter"):
        prepared = figures.prepare(
            name, {"summary": _summary(accuracy=True)}, x="strength", y="learning_rate"
        )
        assert prepared.notes["scale"]["cmap"] == "viridis", name
        assert not prepared.notes["scale"]["log"], name


def test_heatmap_places_the_sub_grid_optimum_in_log_strength_between_cell_centres():
    import numpy as np
    import pandas as pd

    optima = pd.DataFrame(
        {
            "learning_rate": [0.1],
            "parabola": [0.1],
            "parabola_flagged": [False],
            "edge": [np.nan],
            "edge_flagged": [True],
            "converged": [False],
        }
    )
    inputs = {"summary": _summary(), "optima": optima}
    basin = figures.prepare("heatmap", inputs, x="strength", y="learning_rate").frames["basin"]
    parabola = basin[basin["mark"] == "parabola"].iloc[0]
    # λ = 0.1 is half way between 0.01 and 1 in log λ: between the centres 0.5 and 1.5
    assert parabola["c"] == pytest.approx(1.0) and parabola["r"] == 1.5
    assert list(basin["mark"]) == ["parabola", "unconverged"]


def test_fit_prepares_the_ridge_references_of_the_two_smallest_coupled_strengths():
    import numpy as np

    frames, train, test = study_tables(
        {
            **BASE,
            "learning_rate": 0.05,
            "regularization": {"kind": "l2", "strength": [0.01, 0.1, 1.0]},
        },
        data.linear(),
    )
    prepared = figures.prepare("fit", frames, model="linear")
    references = prepared.frames["references"]
    assert sorted(references["strength"].unique()) == [0.0, 0.01, 0.1]
    x, y = train.x[:, 0], train.y.ravel()
    slope, intercept = np.polyfit(x, y, 1)  # least squares, the λ = 0 reference
    line = references[references["strength"] == 0.0]
    np.testing.assert_allclose(line["y"], slope * line["x"] + intercept, rtol=1e-6)


def test_fit_draws_one_line_per_fitted_run_and_no_band():
    """Two learning rates share each strength's colour: a band there would pool learning rates
    (a band means seeds and nothing else), so each run is its own line."""
    frames, _, _ = study_tables(
        {
            **BASE,
            "learning_rate": [0.01, 0.05],
            "regularization": {"kind": "l2", "strength": [0.01, 1.0]},
        },
        data.linear(),
    )
    figure = figures.make("fit", frames, model="linear")
    axes = figure.axes[0]
    fitted = [line for line in axes.lines if len(line.get_xdata()) == 200]  # runner.curves' grid
    assert len(fitted) == 4  # 2 learning rates × 2 strengths, first seed
    bands = [c for c in axes.collections if type(c).__name__.endswith("PolyCollection")]
    assert not bands


def test_the_basins_mark_the_points_each_refinement_round_added():
    """A grid of two λ per η0 and a round that added one more: the round's points are drawn
    with their own marker and legend entry, and each row's vertex is marked."""
    experiment = {**BASE, "learning_rate": [0.01, 0.03], "seeds": [0, 1],
                  "regularization": {"kind": "l2", "strength": [0.001, 0.01, 0.1]}}  # fmt: skip
    frames, _, _ = study_tables(experiment, data.linear())
    runs = frames["runs"].assign(round=lambda r: (r["strength"] == 0.01).astype(int))
    prepared = figures.prepare("basins", {**frames, "runs": runs}, x="learning_rate",
                               select="validation_mse")  # fmt: skip
    points = prepared.frames["points"]
    assert sorted(points["round"].unique()) == [0, 1] and len(points) == 12
    assert set(prepared.frames["vertices"]["learning_rate"]) <= {0.01, 0.03}
    figure = figures.make("basins", {**frames, "runs": runs}, x="learning_rate",
                          select="validation_mse")  # fmt: skip
    labels = [t.get_text() for t in figure.axes[-1].get_legend().get_texts()]
    assert "refinement round 1" in labels and "the config's grid" in labels


def test_learning_rates_prepares_the_first_seed_with_the_y_range_clipped():
    frames, _, _ = study_tables(CASES["one seed and one value per axis"], data.linear())
    prepared = figures.prepare("learning_rates", frames)
    rates = prepared.frames["rates"]["scheduled_learning_rate"]
    assert prepared.notes["ylim"] == pytest.approx(
        (max(rates.min(), rates.max() * 1e-4) / 1.5, rates.max() * 1.5)
    )


def test_the_registry_declares_every_input_and_caption():
    assert set(figures.KINDS) == set(FIGURES)
    for name, kind in figures.KINDS.items():
        assert "{experiment}" in kind.caption, name
    assert figures.inputs_of("heatmap", {"heatmap": {}}) == ("summary",)
    wanted = {"heatmap": {"x": "strength"}, "optimum": {"x": "learning_rate"}}
    assert figures.inputs_of("heatmap", wanted) == ("summary", "optima")
    words = " ".join(figures.caption("fit", "line", {"seeds": [0, 1]}, {}).split())
    assert "black and dotted" in words and "green" not in words
    with pytest.raises(ValueError, match="figure must be one of"):
        figures.kind_of("pie")
    with pytest.raises(ValueError, match=r"'scatter' takes the options \['x', 'y', 'metric'\]"):
        figures.prepare("scatter", {"summary": _summary()}, x="strength", colour="red")
    with pytest.raises(ValueError, match=r"'optimum' needs the inputs \['optima', 'slopes'\]"):
        figures.prepare("optimum", {"optima": _summary()}, x="strength")


def test_reading_the_registry_imports_no_matplotlib():
    """Planning a workflow reads the registry (inputs, captions) without loading a plotter."""
    import subprocess
    import sys

    code = (
        "import sys; from decaylab import figures\n"
        "figures.inputs_of('heatmap', {'heatmap': {}, 'optimum': {}})\n"
        "figures.caption('optimum', 'e', {'seeds': [0]}, {'x': 'learning_rate'})\n"
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr[-2000:]


def test_preparing_every_figure_imports_no_matplotlib(tmp_path):
    """prepare computes, draw draws: every kind's frames come without a plotting library."""
    import pickle
    import subprocess
    import sys

    frames, _, _ = study_tables(CASES["one seed and one value per axis"], data.linear())
    (tmp_path / "inputs.pickle").write_bytes(pickle.dumps((frames, FIGURES)))
    code = (
        "import pickle, sys\n"
        "from decaylab import figures\n"
        f"frames, wanted = pickle.loads(open({str(tmp_path / 'inputs.pickle')!r}, 'rb').read())\n"
        "for name, options in wanted.items():\n"
        "    figures.prepare(name, frames, **options)\n"
        "print(sorted(m for m in ('matplotlib', 'seaborn') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr[-2000:]

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_moons

from decaylab import data
from decaylab.dataset import from_frame


def test_article_arrays_are_reproduced_bit_for_bit():
    np.random.seed(0)
    x = 2 * np.random.rand(100, 1)
    y = 3 * x + 5 + np.random.randn(100, 1)
    dataset = data.linear()
    assert np.array_equal(dataset.x, x)
    assert np.array_equal(dataset.y, y)


def test_article_split_is_first_80_last_20():
    rows = data.split(data.linear(), test_fraction=0.2, shuffle=False)
    assert np.array_equal(rows.train, np.arange(80))
    assert np.array_equal(rows.test, np.arange(80, 100))


def test_shuffled_split_is_a_seeded_partition():
    dataset = data.linear(n=50)
    a = data.split(dataset, test_fraction=0.3, shuffle=True, seed=4)
    b = data.split(dataset, test_fraction=0.3, shuffle=True, seed=4)
    c = data.split(dataset, test_fraction=0.3, shuffle=True, seed=5)
    assert len(a.test) == 15
    assert sorted(np.concatenate([a.train, a.test])) == list(range(50))
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)


def test_stratified_split_keeps_class_shares():
    dataset = data.spirals(n=300, n_classes=3)
    rows = data.split(dataset, test_fraction=0.2, shuffle=True, seed=0, stratify=True)
    assert np.bincount(dataset.y[rows.test]).tolist() == [20, 20, 20]
    assert not set(rows.train) & set(rows.test)


def test_linear_with_several_features_follows_its_formula():
    dataset = data.linear(n=30, n_features=4, slope=2.0, intercept=1.0, noise=0.0, seed=1)
    assert dataset.x.shape == (30, 4)
    np.testing.assert_allclose(dataset.y[:, 0], 2.0 * dataset.x.sum(axis=1) + 1.0)


def test_sine_is_bishops_curve_plus_noise():
    clean = data.sine(n=25, noise=0.0, seed=2)
    np.testing.assert_allclose(clean.y, np.sin(2 * np.pi * clean.x))
    assert np.all((clean.x >= 0) & (clean.x <= 1))


def test_moons_match_scikit_learn_construction():
    ours = data.moons(n=100, noise=0.0)
    theirs_x, theirs_y = make_moons(n_samples=100, noise=0.0, shuffle=False)
    order = np.lexsort((ours.x[:, 1], ours.x[:, 0]))
    reference = np.lexsort((theirs_x[:, 1], theirs_x[:, 0]))
    np.testing.assert_allclose(ours.x[order], theirs_x[reference], atol=1e-12)
    assert np.array_equal(ours.y[order], theirs_y[reference])


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: data.linear(n=0), "n"),
        (lambda: data.linear(noise=-1), "noise"),
        (lambda: data.linear(x_range=(2, 1)), "x_range"),
        (lambda: data.spirals(n_classes=1), "n_classes"),
        (lambda: data.generate("circles"), "generator"),
        (lambda: data.split(data.linear(), test_fraction=1.5), "test_fraction"),
        (lambda: data.split(data.linear(), stratify=True), "stratify"),
    ],
)
def test_bad_data_arguments_name_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_shapes_are_checked_at_the_door():
    x = np.linspace(0, 1, 12)
    one_output = data.Dataset(x, 2 * x + 1, data.REGRESSION)
    assert one_output.x.shape == (12, 1) and one_output.y.shape == (12, 1)
    labels = data.Dataset(np.ones((4, 2)), np.array([[0], [1], [1], [0]]), data.CLASSIFICATION)
    assert labels.y.shape == (4,)
    for y, task in [(np.ones((4, 2)), data.CLASSIFICATION), (np.ones((4, 2, 2)), data.REGRESSION)]:
        with pytest.raises(ValueError, match="y must be"):
            data.Dataset(np.ones((4, 2)), y, task)
    with pytest.raises(ValueError, match="x has 4 rows but y has 3"):
        data.Dataset(np.ones((4, 2)), np.ones(3), data.REGRESSION)


def test_a_data_frame_becomes_a_data_set():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.1, 0.2], "label": ["x", "y", "x"]})
    dataset = from_frame(frame, target="label")
    assert dataset.task == data.CLASSIFICATION and dataset.y.tolist() == [0, 1, 0]
    assert dataset.x.tolist() == [[1.0, 0.5], [2.0, 0.1], [3.0, 0.2]]
    assert from_frame(frame, target="a", features=["b"]).task == data.REGRESSION
    with pytest.raises(ValueError, match="target column 'c' not found"):
        from_frame(frame, target="c")

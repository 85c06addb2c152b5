"""MNIST-1D's published reference accuracies (Greydanus 2020, on its 4,000 / 1,000 split) as a
sanity check of the data and the models: logistic regression about 32 %, an MLP about 68 %.
(Its CNN's 94 % needs longer training; ``benchmarks/real_models.py`` prints what ours reaches.)
The bounds are wide on purpose: they catch broken data or models, not small differences."""

import pytest

from decaylab import data, models
from decaylab.engine import ShardConfig, train_shard


@pytest.fixture(scope="module")
def mnist1d():
    return data.split_dataset(data.generate("mnist1d"), test_fraction=0.2)


@pytest.mark.parametrize(
    "spec, low, high",
    [
        (models.ModelSpec("linear"), 0.25, 0.40),
        (models.ModelSpec("mlp", hidden=(100, 100)), 0.55, 0.80),
    ],
    ids=["logistic regression", "mlp"],
)
def test_mnist1d_reference_accuracies(mnist1d, spec, low, high):
    assert len(mnist1d.train.y) == 4000 and len(mnist1d.test.y) == 1000
    config = ShardConfig(
        model=spec, optimizer="adam", epochs=30, batch_size=100, shuffle=True, history_stride=30
    )
    runs = [{"learning_rate": 3e-3, "seed": seed} for seed in (0, 1)]
    accuracy = train_shard(mnist1d.train, mnist1d.test, config, runs).runs["test_accuracy"]
    assert low <= accuracy.median() <= high, accuracy.tolist()

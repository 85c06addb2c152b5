"""decaylab: learning-rate decay and weight decay / L2 regularization, from config to report.

The Snakemake workflow (``snakemake --cores 8``) runs the whole study from ``config/``; this
package is its science, usable from a notebook without Snakemake::

    from decaylab import ModelSpec, ShardConfig, from_frame, split_dataset, train_shard

    data = from_frame(frame, target="y")              # a pandas DataFrame → Dataset
    train, validation, test = split_dataset(data, test_fraction=0.2, validation_fraction=0.2,
                                            shuffle=True, seed=0)
    config = ShardConfig(model=ModelSpec("mlp", hidden=(64,)), optimizer="sgd", epochs=50)
    runs = [dict(learning_rate=0.1, regularization="decoupled", strength=1e-3, seed=s)
            for s in range(3)]
    result = train_shard(train, test, config, runs, validation=validation)
    result.runs, result.history, result.params   # a row per run, the metrics per epoch, weights

What is here:

- :class:`Dataset` — features, targets and task; :func:`from_frame` makes one of a DataFrame.
- :func:`split_dataset` — training, validation and test parts (shuffled, stratified, a
  training subset, standardized), each a :class:`Dataset`.
- :class:`ModelSpec` — ``linear``, ``polynomial``, ``mlp`` or ``cnn``, with normalization.
- :class:`ShardConfig` — what the runs share: model, optimizer, schedule, epochs, batch size,
  dtype; ``runs`` give each run's own values (``learning_rate``, ``strength``, ``seed``, the
  schedule's and regularization's parameters), the names :mod:`decaylab.registry` declares.
- :func:`train_shard` — trains every run at once (one compiled program for all of them) and
  returns a :class:`~decaylab.results.ShardResult`; it can checkpoint, resume and report
  progress.

For the analysis of a result: :func:`decaylab.tables.summarize` (mean and 95 % interval per
grid point over seeds, the validation selection), :func:`decaylab.inference.measure` (how the
best strength moves with the learning rate: per-seed vertices, gates, t intervals),
:func:`decaylab.claims.judge` (a prediction judged by equivalence), :func:`decaylab.figures.make`
(the study's figures).

Everything but ``train_shard`` loads without a Keras backend; ``train_shard`` starts one
(``KERAS_BACKEND``: ``tensorflow`` or ``jax``) when first used.
"""

from decaylab.data import split_dataset
from decaylab.dataset import Dataset, from_frame
from decaylab.models import ModelSpec
from decaylab.shard import ShardConfig

__all__ = ["Dataset", "ModelSpec", "ShardConfig", "from_frame", "split_dataset", "train_shard"]


def __getattr__(name):
    if name == "train_shard":  # importing the engine starts the backend: only when asked for
        from decaylab import engine

        return engine.train_shard
    raise AttributeError(f"module 'decaylab' has no attribute {name!r}")

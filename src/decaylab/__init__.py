"""decaylab: learning-rate decay and weight decay / L2 regularization, from config to report.

What a notebook needs::

    from decaylab import ShardConfig, from_frame, split_dataset, train_shard

``Dataset``, ``from_frame``, ``split_dataset`` and ``ModelSpec`` load without a Keras backend;
``ShardConfig`` and ``train_shard`` start one (``KERAS_BACKEND``) when first used.
"""

from decaylab.data import split_dataset
from decaylab.dataset import Dataset, from_frame
from decaylab.models import ModelSpec

__all__ = ["Dataset", "ModelSpec", "ShardConfig", "from_frame", "split_dataset", "train_shard"]
_ENGINE = ("ShardConfig", "train_shard")


def __getattr__(name):
    if name in _ENGINE:  # importing the engine starts the backend: only when asked for
        from decaylab import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'decaylab' has no attribute {name!r}")

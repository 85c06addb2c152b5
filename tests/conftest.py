import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from decaylab import data  # noqa: E402


@pytest.fixture(scope="session")
def article():
    """The article's data and its 80/20 split."""
    parts = data.split_dataset(data.linear())
    return parts.train, parts.test


@pytest.fixture(scope="session")
def small_regression():
    """40 training rows of a 3-feature linear problem: batches of 16 leave a partial batch."""
    dataset = data.linear(n=50, n_features=3, slope=0.7, intercept=-0.3, noise=0.5, seed=3)
    parts = data.split_dataset(dataset, test_fraction=0.2)
    return parts.train, parts.test


@pytest.fixture(scope="session")
def moons():
    parts = data.split_dataset(
        data.moons(n=120, noise=0.2, seed=1), shuffle=True, seed=0, stratify=True
    )
    return parts.train, parts.test


@pytest.fixture
def keras_in_float64():
    """Keras's float type is float64 for the test (the engine's oracles compare in float64)."""
    import keras

    previous, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    # the global dtype policy is fixed from floatx when a first layer is built: set it too
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(previous)
    keras.config.set_dtype_policy(policy)


def relative_error(actual, expected):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    return np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-12))


def weights(params):
    """Stacked parameters as Keras's ``get_weights`` orders them: kernel, bias, kernel, …"""
    return [layer[name] for layer in params for name in ("kernel", "bias")]


def pytest_terminal_summary(terminalreporter):
    """The property tests' draws and the injected faults, with their outcomes (the fault table
    of docs/reliability.md is made from this file: python tests/fault_table.py)."""
    import json
    import sys
    from pathlib import Path

    counts = {}
    for name in ("test_generated_configs", "test_io_faults"):
        counts |= getattr(sys.modules.get(name), "COUNTS", {})
    if not counts:
        return
    terminalreporter.write_sep("-", "generated inputs and injected faults")
    for key, value in counts.items():
        terminalreporter.write_line(f"{key}: {value}")
    folder = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fault_counts.json").write_text(json.dumps(counts, indent=1))

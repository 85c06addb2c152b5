"""Generated data files (``generator: file``): the dry run's check accepts a file — and then its
split and a first epoch train — or refuses it naming the file, never with a traceback.

Tables (CSV, Parquet) and arrays (NPZ) are drawn with random shapes, dtypes and column names
(spaces, unicode, duplicates, numbers as names), missing and infinite values, constant columns,
empty and header-only files, one-class, many-class and text targets.
"""

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from test_generated_configs import COUNTS

from decaylab import data, data_facts, grid, runner

column_names = st.one_of(
    st.from_regex(r"[a-z]{1,6}", fullmatch=True),
    st.sampled_from(["a b", "ünï", "名前", "1", "0", " ", "x.y", "target"]),
)
cells = {
    "int": st.integers(-5, 5),
    "float": st.floats(-1e3, 1e3, allow_nan=False, width=32),
    "float or missing": st.one_of(st.floats(-10, 10), st.just(np.nan), st.just(np.inf)),
    "bool": st.booleans(),
    "text": st.sampled_from(["a", "b", "c d", "é"]),
    "constant": st.just(1.0),
}


@st.composite
def tables(draw):
    """A DataFrame, the name of its target column, and the target's kind."""
    rows = draw(st.sampled_from([0, 1, 3, 12, 40]))
    names = draw(st.lists(column_names, min_size=1, max_size=4))
    kinds = [draw(st.sampled_from(sorted(cells))) for _ in names]
    columns = [
        pd.Series(draw(st.lists(cells[kind], min_size=rows, max_size=rows)), dtype=object)
        .infer_objects()
        for kind in kinds
    ]  # fmt: skip
    frame = pd.concat(columns, axis=1) if columns else pd.DataFrame()
    frame.columns = names  # duplicates allowed: users make them
    target = draw(st.sampled_from(names))
    return frame, target


@st.composite
def arrays(draw):
    rows = draw(st.sampled_from([0, 2, 12, 40]))
    shape = draw(
        st.sampled_from([(rows,), (rows, 3), (rows, 4, 4), (rows, 4, 4, 2), (rows, 2, 2, 2, 2)])
    )
    x_kind = draw(st.sampled_from(["float", "int", "text", "nan"]))
    x = {"float": np.random.default_rng(rows).normal(size=shape),
         "int": np.arange(np.prod(shape)).reshape(shape),
         "text": np.full(shape, "a"),
         "nan": np.full(shape, np.nan)}[x_kind]  # fmt: skip
    y_rows = draw(st.sampled_from([rows, rows + 1]))
    y_kind = draw(st.sampled_from(["classes", "one class", "real", "text", "2-d"]))
    y = {"classes": np.arange(y_rows) % 3, "one class": np.zeros(y_rows, dtype=int),
         "real": np.linspace(0, 1, y_rows), "text": np.array(["a", "b"] * y_rows)[:y_rows],
         "2-d": np.zeros((y_rows, 2, 2))}[y_kind]  # fmt: skip
    names = draw(st.sampled_from([("x", "y"), ("x", "labels"), ("inputs", "y")]))
    return {names[0]: x, names[1]: y}


def write_table(frame, suffix, folder) -> Path | None:
    path = folder / f"data{suffix}"
    try:
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path)
    except (ValueError, TypeError, ArithmeticError, ImportError) as error:
        note(f"pandas cannot write it as {suffix}: {error}")
        return None  # a frame no one can make into a file (Parquet refuses duplicate names)
    return path


def accepted_or_refused(dataset: dict) -> tuple[list[str], object]:
    """The dry run's check of one data set (``data_facts.of``), counting draws."""
    COUNTS["data files"] = COUNTS.get("data files", 0) + 1
    problems, facts = data_facts.of("mine", dataset)
    for line in problems:
        assert dataset["path"] in line, f"the refusal does not name the file: {line}"
    key = "data files refused" if problems else "data files accepted"
    COUNTS[key] = COUNTS.get(key, 0) + 1
    return problems, facts


SPLIT = {"test_fraction": 0.25, "validation_fraction": 0.25, "shuffle": True, "stratify": False}


@pytest.fixture(autouse=True, scope="module")
def facts_cache_elsewhere():
    with tempfile.TemporaryDirectory() as folder:
        previous, data_facts.FACTS_CACHE = data_facts.FACTS_CACHE, folder
        yield
        data_facts.FACTS_CACHE = previous


@settings(max_examples=300)
@given(tables(), st.sampled_from([".csv", ".parquet"]))
@example(  # a header and no rows ended in pandas' IndexError
    (pd.DataFrame({"a": pd.Series([], dtype=object), "t": pd.Series([], dtype=object)}), "t"),
    ".csv",
)
@example(  # one class passed the dry run and trained
    (pd.DataFrame({"a": np.arange(12.0), "t": np.ones(12, dtype=int)}), "t"), ".csv"
)
def test_a_table_is_accepted_or_refused_naming_the_file(table, suffix):
    frame, target = table
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = write_table(frame, suffix, Path(folder))
        if path is None:
            return
        dataset = {"generator": "file", "path": str(path), "target": target, "split": SPLIT}
        problems, facts = accepted_or_refused(dataset)
        if not problems:
            check_accepted(dataset, facts)


@settings(max_examples=150)
@given(arrays())
def test_an_npz_file_is_accepted_or_refused_naming_the_file(stored):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npz"
        np.savez(path, **stored)
        x, y = list(stored)
        dataset = {"generator": "file", "path": str(path), "target": y, "features": [x],
                   "split": SPLIT}  # fmt: skip
        problems, facts = accepted_or_refused(dataset)
        if not problems:
            check_accepted(dataset, facts)


def check_accepted(dataset, facts):
    """An accepted file makes a sound data set: its split has rows in every part, and a
    classification target at least two classes."""
    generated = data.generate("file", **grid.source_options(dataset))
    parts = data.split(generated, **SPLIT)
    assert len(parts.train) and len(parts.test) and len(parts.validation)
    if generated.task == data.CLASSIFICATION:
        assert generated.n_classes >= 2
    assert facts.training_rows == len(parts.train)
    ACCEPTED.append(dataset)


ACCEPTED: list[dict] = []


@st.composite
def usable_tables(draw):
    """Tables a user means to train on: numeric features under odd names (constant ones too),
    a target of 2–4 classes (integers or text) or real numbers."""
    rows = draw(st.integers(12, 40))
    names = draw(st.lists(column_names, min_size=2, max_size=4, unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 100)))
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in names[1:]})
    if draw(st.booleans()):
        frame[names[1]] = 1.0  # a constant column
    kind = draw(st.sampled_from(["classes", "text classes", "real"]))
    classes = draw(st.integers(2, 4))
    target = np.arange(rows) % classes
    frame[names[0]] = {"classes": target, "text classes": np.array(list("abcd"))[target],
                       "real": rng.normal(size=rows)}[kind]  # fmt: skip
    return frame, names[0]


@settings(max_examples=12, derandomize=True, database=None, deadline=None)
@given(usable_tables())
def test_an_accepted_table_splits_and_trains_a_first_epoch(table):
    """The dry run's promise kept: an accepted file trains (one epoch, a linear model)."""
    frame, target = table
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = write_table(frame, ".csv", Path(folder))
        dataset = {"generator": "file", "path": str(path), "target": target, "split": SPLIT}
        problems, _ = accepted_or_refused(dataset)
        assert not problems, problems
        generated = data.generate("file", **grid.source_options(dataset))
        parts = data.prepare(generated, data.split(generated, **SPLIT), standardize=True)
        train, validation, test = parts.train, parts.validation, parts.test
        shard = {
            "experiment": "mine", "shard": "sgd", "dataset": "mine", "model": {"kind": "linear"},
            "optimizer": "sgd", "epochs": 1, "batch_size": 2,
            "runs": [{"learning_rate": 0.01, "seed": 0}],
        }  # fmt: skip
        result = runner.train(shard, train, test, validation=validation)
        COUNTS["data files trained"] = COUNTS.get("data files trained", 0) + 1
        assert len(result.runs) == 1


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_an_empty_file_is_refused_naming_it(suffix, tmp_path):
    """Found while building these tests: an empty .npz file ended in NumPy's EOFError."""
    path = tmp_path / f"data{suffix}"
    path.write_bytes(b"")
    dataset = {"generator": "file", "path": str(path), "target": "y", "split": SPLIT}
    problems, _ = accepted_or_refused(dataset)
    assert problems and str(path) in problems[0]

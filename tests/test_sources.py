"""The data sources, the three-way split and the bad input each refuses, with the file or
column it names. Offline: the Keras archives are served from local files in their format."""

import gzip
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pandas as pd
import pytest

from decaylab import data, sources


def test_mnist1d_is_the_reference_generators_data_set():
    from mnist1d.data import get_dataset_args, make_dataset

    reference = make_dataset(get_dataset_args())  # generates; never downloads
    ours = sources.mnist1d()
    assert ours.x.shape == (5000, 40) and ours.input_shape == (40, 1)
    np.testing.assert_allclose(ours.x[:4000], reference["x"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.x[4000:], reference["x_test"], rtol=0, atol=1e-12)
    assert np.array_equal(ours.y, np.concatenate([reference["y"], reference["y_test"]]))


@pytest.mark.parametrize(
    "name, loader, task",
    [
        ("digits", "load_digits", "classification"),
        ("breast_cancer", "load_breast_cancer", "classification"),
        ("wine", "load_wine", "classification"),
        ("iris", "load_iris", "classification"),
        ("diabetes", "load_diabetes", "regression"),
    ],
)
def test_bundled_sets_are_scikit_learns(name, loader, task):
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)()
    ours = data.generate(name)
    assert ours.task == task
    np.testing.assert_array_equal(ours.x, bunch.data)
    np.testing.assert_array_equal(ours.y.ravel(), bunch.target)


def frame():
    rng = np.random.RandomState(0)
    table = pd.DataFrame({"a": rng.normal(size=30), "b": rng.randint(0, 5, 30).astype(float)})
    table["label"] = np.where(table["a"] > 0, "high", "low")
    table["value"] = 2 * table["a"] - table["b"]
    return table


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_file_is_read_with_its_target_and_features(tmp_path, suffix):
    path = tmp_path / f"table{suffix}"
    table = frame()
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path)
    classified = sources.file(str(path), target="label", features=["a", "b"])
    assert classified.task == "classification"
    assert np.array_equal(classified.y, (table["label"] == "low").to_numpy().astype(int))
    np.testing.assert_allclose(classified.x, table[["a", "b"]].to_numpy())
    regressed = sources.file(str(path), target="value", features=["a", "b"])
    assert regressed.task == "regression"
    np.testing.assert_allclose(regressed.y[:, 0], table["value"])
    with pytest.raises(ValueError, match="feature column 'label' is not numeric"):
        sources.file(str(path), target="value")  # by default every other column, text too


def test_an_npz_file_of_images_keeps_their_shape(tmp_path):
    path = tmp_path / "images.npz"
    x = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    np.savez(path, x=x, y=np.array([3, 1, 3, 1, 3, 1]))
    images = sources.file(str(path))
    assert images.input_shape == (4, 3, 1) and images.x.shape == (6, 12)
    assert images.y.tolist() == [1, 0, 1, 0, 1, 0]


@pytest.mark.parametrize(
    "make, options, message",
    [
        (None, {"target": "label"}, "does not exist"),
        ("csv", {"target": "missing"}, "target column 'missing' not found"),
        ("csv", {"target": "value", "features": ["a", "nope"]}, "feature column 'nope' not found"),
        ("csv", {"target": "value", "features": ["a", "label"]}, "feature column 'label'"),
        (
            "nan",
            {"target": "value", "features": ["a", "b"]},
            r"column 'a' has 1 missing, NaN or infinite value",
        ),
        (
            "inf",
            {"target": "value", "features": ["a", "b"]},
            r"column 'b' has 1 missing, NaN or infinite value",
        ),
        ("ragged", {}, "inconsistent shape"),
        ("txt", {"target": "value"}, "unknown format"),
    ],
)
def test_bad_files_are_refused_with_the_file_and_column(tmp_path, make, options, message):
    table = frame()
    path = tmp_path / "table.csv"
    if make == "nan":
        table.loc[4, "a"] = np.nan
    if make == "inf":
        table.loc[7, "b"] = np.inf
    if make in ("csv", "nan", "inf"):
        table.to_csv(path, index=False)
    if make == "ragged":
        path = tmp_path / "ragged.npz"
        ragged = np.empty(2, dtype=object)
        ragged[:] = [np.zeros((2, 2)), np.zeros((3, 3))]
        np.savez(path, x=ragged, y=np.array([0, 1]))
    if make == "txt":
        path = tmp_path / "table.txt"
        path.write_text("a,b\n")
    with pytest.raises(ValueError, match=message) as error:
        sources.file(str(path), **options)
    assert str(path) in str(error.value)


def test_the_three_parts_are_disjoint_and_stratified():
    dataset = sources.iris()
    rows = data.split(
        dataset, test_fraction=0.2, validation_fraction=0.2, shuffle=True, stratify=True
    )
    parts = [rows.train, rows.validation, rows.test]
    assert sorted(np.concatenate(parts)) == list(range(150))
    assert [np.bincount(dataset.y[p]).tolist() for p in parts] == [[30] * 3, [10] * 3, [10] * 3]


def test_unshuffled_the_last_rows_are_the_test_set_and_those_before_validation():
    rows = data.split(data.linear(), test_fraction=0.2, validation_fraction=0.1)
    assert list(rows.train) == list(range(70))
    assert list(rows.validation) == list(range(70, 80))
    assert list(rows.test) == list(range(80, 100))


def test_a_subset_keeps_class_shares_and_leaves_the_other_parts_alone():
    dataset = sources.digits()
    options = {"test_fraction": 0.2, "validation_fraction": 0.1, "shuffle": True, "seed": 3}
    whole = data.split(dataset, stratify=True, **options)
    small = data.split(dataset, stratify=True, subset=200, **options)
    assert len(small.train) == 200 and set(small.train) <= set(whole.train)
    assert np.array_equal(small.test, whole.test)
    assert np.array_equal(small.validation, whole.validation)
    shares = np.bincount(dataset.y[small.train], minlength=10) / 200
    expected = np.bincount(dataset.y[whole.train], minlength=10) / len(whole.train)
    assert np.abs(shares - expected).max() <= 1 / 200 + 1e-12
    again = data.split(dataset, stratify=True, subset=200, **options)
    assert np.array_equal(again.train, small.train)


def test_standardization_uses_the_training_part_alone():
    dataset = sources.wine()
    options = {"test_fraction": 0.3, "validation_fraction": 0.2, "shuffle": True, "seed": 1}
    rows = data.split(dataset, **options)
    parts = data.split_dataset(dataset, standardize=True, **options)
    train = dataset.x[rows.train]
    mean, scale = train.mean(axis=0), train.std(axis=0)
    np.testing.assert_allclose(parts.train.x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(parts.train.x.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(parts.test.x, (dataset.x[rows.test] - mean) / scale, rtol=1e-12)
    np.testing.assert_allclose(
        parts.validation.x, (dataset.x[rows.validation] - mean) / scale, rtol=1e-12
    )
    assert np.abs(parts.test.x.mean(axis=0)).max() > 1e-3  # not refitted on the test part


@pytest.mark.parametrize(
    "options, message",
    [
        ({"validation_fraction": 0.8}, "validation_fraction"),
        ({"subset": 500}, r"subset must be in \[1, 120\]"),
        ({"subset": 2, "stratify": True}, "smaller than the number of classes"),
    ],
)
def test_impossible_splits_say_why(options, message):
    with pytest.raises(ValueError, match=message):
        data.split(sources.iris(), **options)


def test_a_class_too_small_for_a_stratified_split_is_named():
    dataset = data.Dataset(np.arange(12.0), np.array([0] * 10 + [1] * 2), "classification")
    with pytest.raises(ValueError, match="class 1 has 2 row"):
        data.split(dataset, validation_fraction=0.2, stratify=True)


def mnist_archive(folder):
    """A small archive in the format of Keras's ``mnist.npz``: 5 training, 3 test images."""
    rng = np.random.RandomState(0)
    path = folder / "mnist.npz"
    np.savez(
        path,
        x_train=rng.randint(0, 256, (5, 28, 28), dtype=np.uint8),
        y_train=np.array([0, 1, 2, 1, 0], dtype=np.uint8),
        x_test=rng.randint(0, 256, (3, 28, 28), dtype=np.uint8),
        y_test=np.array([2, 2, 0], dtype=np.uint8),
    )
    return path


def sha256(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_keras_archive_is_fetched_once_verified_and_read(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = mnist_archive(mirror)
    monkeypatch.setattr(sources, "RAW", tmp_path / "data/raw")
    options = {"origin": mirror.as_uri(), "checksums": [sha256(archive)]}
    first = data.generate("mnist", **options)
    assert first.x.shape == (8, 784) and first.input_shape == (28, 28, 1)
    assert first.x.max() <= 1.0 and first.y.tolist() == [0, 1, 2, 1, 0, 2, 2, 0]
    kept = tmp_path / "data/raw/mnist/mnist.npz"
    assert kept.read_bytes() == archive.read_bytes()
    archive.unlink()  # no second download: the kept file is read
    np.testing.assert_array_equal(data.generate("mnist", **options).x, first.x)
    kept.write_bytes(kept.read_bytes()[:-10])  # a damaged file is named, not read
    with pytest.raises(ValueError, match="does not match its checksum"):
        data.generate("mnist", **options)


def test_a_download_that_does_not_match_its_checksum_is_not_kept(tmp_path, monkeypatch):
    archive = mnist_archive(tmp_path)
    monkeypatch.setattr(sources, "RAW", tmp_path / "data/raw")
    with pytest.raises(ValueError, match="does not match its checksum"):
        data.generate("mnist", origin=tmp_path.as_uri(), checksums=["sha256:" + "0" * 64])
    assert not (tmp_path / "data/raw/mnist/mnist.npz").exists()
    with pytest.raises(ValueError, match="cannot download"):
        data.generate("mnist", origin=(tmp_path / "nowhere").as_uri(), checksums=[sha256(archive)])


def idx(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.tobytes())


def test_fashion_mnist_and_cifar10_archives_are_read_in_their_formats(tmp_path, monkeypatch):
    rng = np.random.RandomState(1)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    images = {"train": rng.randint(0, 256, (4, 28, 28), dtype=np.uint8)}
    images["t10k"] = rng.randint(0, 256, (2, 28, 28), dtype=np.uint8)
    labels = {"train": np.array([1, 2, 3, 4], np.uint8), "t10k": np.array([5, 6], np.uint8)}
    for part in ("train", "t10k"):
        (mirror / f"{part}-images-idx3-ubyte.gz").write_bytes(idx(images[part], 2051))
        (mirror / f"{part}-labels-idx1-ubyte.gz").write_bytes(idx(labels[part], 2049))
    files = sources.ARCHIVES["fashion_mnist"].files
    monkeypatch.setattr(sources, "RAW", tmp_path / "data/raw")
    fashion = data.generate(
        "fashion_mnist",
        origin=mirror.as_uri(),
        checksums=[sha256(mirror / name) for name in files],
    )
    np.testing.assert_allclose(fashion.x[4:].reshape(2, 28, 28), images["t10k"] / 255.0)
    assert fashion.y.tolist() == [1, 2, 3, 4, 5, 6]  # the published labels, train rows first

    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = rng.randint(0, 256, (2, 3 * 32 * 32), dtype=np.uint8)
        batches[name] = {b"data": pixels, b"labels": rng.randint(0, 10, 2).tolist()}
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w:gz") as archive:
        for name, content in batches.items():
            payload = pickle.dumps(content)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    (mirror / "cifar-10-python.tar.gz").write_bytes(stream.getvalue())
    cifar = data.generate(
        "cifar10",
        origin=mirror.as_uri(),
        checksums=[sha256(mirror / "cifar-10-python.tar.gz")],
    )
    assert cifar.input_shape == (32, 32, 3) and cifar.x.shape == (12, 3072)
    first = batches["data_batch_1"][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_allclose(cifar.x[0].reshape(32, 32, 3), first / 255.0)

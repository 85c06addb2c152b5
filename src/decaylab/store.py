"""The store of trained runs: each run kept under a key of everything that determines its numbers,
so that a study grows by training only its new runs (no backend here).

Layout under the store's folder (``run_store`` in the config; ``store/`` by default)::

    runs/AB/ABCDEF….npz     one trained run, named by its key (the first two hex digits fan out)
    batches/0123….json      the spec of one training job's runs, in the order they trained

A run's key is the SHA-256 of the canonical JSON of :func:`key_inputs`: the store's format
(:data:`STORE_FORMAT`), the engine's numerics version (``decaylab.engine.NUMERICS_VERSION``), the
backend, the device, the versions of the numeric packages, the settings its shard shares (model,
optimizer, epochs, batch size, shuffling, history stride, dtype, schedule options), whether a
validation part is evaluated, the run's own values with the defaults filled in, and the digest of
its data (the training rows it trains on, the validation and test parts, bit for bit).

An entry holds the run's history records, the epoch in which it diverged (−1: never), its
parameters, and ``meta`` (its key's inputs, its batch, the provenance of the job that trained it
and the time it started); a SHA-256 of all of it is stored beside and checked on every read. An
entry is written atomically (a temporary file, then a rename) and only once its job has trained
every run of the batch, so a killed job leaves no entry; an entry that cannot be read or fails
its digest is reported and trained again.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from decaylab import files, provenance

STORE_FORMAT = 1
"""The version of an entry's layout; a change to it gives every run a new key."""
NUMERIC_PACKAGES = ("numpy", "keras", "tensorflow", "jax", "jaxlib")
"""Packages whose versions are part of a key (those installed)."""


def package_versions() -> dict[str, str]:
    """The installed versions of :data:`NUMERIC_PACKAGES`."""
    return provenance.installed_versions(NUMERIC_PACKAGES)


def data_digest(*parts) -> str:
    """SHA-256 of the datasets' features and targets (``None`` parts count as absent)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(b"absent" if part is None else b"part")
        if part is not None:
            for array in (part.x, part.y):
                array = np.ascontiguousarray(array)
                digest.update(f"{array.dtype}{array.shape}".encode() + array.tobytes())
    return digest.hexdigest()


def key_inputs(shared: dict, run: dict, data: str, numerics: int, device: str) -> dict:
    """Everything a run's numbers depend on, as plain JSON-able values: ``shared`` the shard's
    settings, ``run`` its own values (defaults filled), ``data`` :func:`data_digest`, ``numerics``
    the engine's numerics version, ``device`` the backend and device it trains on."""
    return {
        "format": STORE_FORMAT,
        "numerics": numerics,
        "device": device,
        "packages": package_versions(),
        "shared": shared,
        "run": run,
        "data": data,
    }


def digest_of(value) -> str:
    """SHA-256 of ``value``'s canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Entry:
    """One trained run: ``history`` ``(records, columns)``, ``diverged_epoch`` (−1: never),
    ``params`` (one dict per layer, without the run axis) and ``meta``."""

    history: np.ndarray
    diverged_epoch: int
    params: list[dict[str, np.ndarray]]
    meta: dict

    def arrays(self) -> dict[str, np.ndarray]:
        """The entry as named arrays, in a fixed order."""
        arrays = {
            "meta": np.array(json.dumps(self.meta, sort_keys=True)),
            "history": np.asarray(self.history),
            "diverged_epoch": np.array(self.diverged_epoch, dtype=np.int64),
        }
        for i, layer in enumerate(self.params):
            for name in sorted(layer):
                arrays[f"layer{i}/{name}"] = np.asarray(layer[name])
        return arrays


def content_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}{array.dtype}{array.shape}".encode() + array.tobytes())
    return digest.hexdigest()


class RunStore:
    """Trained runs under ``root`` (see the module's docstring for the layout)."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / "runs" / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Entry | None:
        """The entry of ``key``; None when there is none or it is unreadable or fails its
        digest (with a warning naming the file: the run is trained again)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with np.load(path) as stored:
                arrays = {name: stored[name] for name in stored.files}
            recorded = str(arrays.pop("digest"))
            if content_digest(arrays) != recorded:
                raise ValueError("its content does not match its digest")
            meta = json.loads(str(arrays["meta"]))
            if meta["key"] != key:
                raise ValueError(f"it holds run {meta['key']}")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            warnings.warn(
                f"store entry {path} is unreadable ({type(error).__name__}: {error}); its run "
                "is trained again",
                stacklevel=2,
            )
            return None
        layers: dict[int, dict[str, np.ndarray]] = {}
        for name, array in arrays.items():
            if name.startswith("layer"):
                layer, field = name.split("/")
                layers.setdefault(int(layer.removeprefix("layer")), {})[field] = array
        return Entry(
            history=arrays["history"],
            diverged_epoch=int(arrays["diverged_epoch"]),
            params=[layers[i] for i in sorted(layers)],
            meta=meta,
        )

    def put(self, key: str, entry: Entry) -> None:
        """Write ``entry`` under ``key`` atomically, with its digest."""
        arrays = entry.arrays()
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # no fsync: an entry a power loss leaves empty or torn fails its digest and is retrained
        with files.atomic(path) as temporary, open(temporary, "wb") as stream:
            np.savez(stream, digest=np.array(content_digest(arrays)), **arrays)

    def batch_path(self, batch: str) -> Path:
        return self.root / "batches" / f"{batch}.json"

    def put_batch(self, batch: str, spec: dict) -> None:
        """Record the spec of a training job's runs (``decaylab reproduce`` retrains it)."""
        path = self.batch_path(batch)
        path.parent.mkdir(parents=True, exist_ok=True)
        with files.atomic(path) as temporary:
            temporary.write_text(json.dumps(spec, indent=1, sort_keys=True))

    def batch(self, batch: str) -> dict:
        """The spec recorded by :meth:`put_batch` (``FileNotFoundError`` naming it if absent)."""
        return json.loads(self.batch_path(batch).read_text())


def run_keys(config, resolved, data: str, numerics: int, device: str, has_validation: bool):
    """The key of every run of ``resolved`` (a :class:`~decaylab.shard.Runs`) in a shard of
    ``config`` (a :class:`~decaylab.shard.ShardConfig`), with :func:`key_inputs`' ``data``,
    ``numerics`` and ``device``, evaluated on a validation part or not (``has_validation``)."""
    from dataclasses import asdict

    shared = {**asdict(config), "has_validation": has_validation}
    keys = []
    for i in range(len(resolved)):
        run = {name: float(values[i]) for name, values in resolved.hp.items()}
        run |= {"schedule": resolved.schedule[i], "regularization": resolved.regularization[i]}
        keys.append(digest_of(key_inputs(shared, run, data, numerics, device)))
    return keys


def entries_of(result, keys: list[str], meta: dict) -> dict[str, Entry]:
    """The runs of a trained :class:`~decaylab.results.ShardResult` as entries, by key, each
    with ``meta`` and its own key."""
    return {
        key: Entry(
            history=result.records[:, j],
            diverged_epoch=int(result.diverged_epoch[j]),
            params=[{name: value[j] for name, value in layer.items()} for layer in result.params],
            meta={**meta, "key": key},
        )
        for j, key in enumerate(keys)
    }

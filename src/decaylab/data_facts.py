"""What the checks need to know of a data set — its task, sizes and shape — from the data set
itself (no backend).

The facts of a Keras archive come from its declaration (``sources.ARCHIVES``): it is not
downloaded to plan a study. The other sources are generated and split, at every plan: the
synthetic ones take under a millisecond at a few hundred rows (7 ms at 100,000); the slow ones
(scikit-learn's sets, MNIST-1D, the user's files: up to a second) only at the first plan, their
facts then read from :data:`FACTS_CACHE`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from decaylab import data, files, grid, registry, sources


@dataclass(frozen=True)
class DataFacts:
    """What the checks need to know of a data set, from the data set itself."""

    task: str
    n_features: int
    n_outputs: int
    n_rows: int
    training_rows: int
    validation_rows: int = 0
    input_shape: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(self.input_shape))


FACTS_CACHE = ".snakemake/decaylab/data_facts"
"""Where the facts of slow data sources are kept, by a digest of their options (and file)."""


def of(name: str, dataset: dict) -> tuple[list[str], DataFacts | None]:
    """The data set ``datasets.<name>``'s problems (and None), or no problems and its facts.

    Problems are options the source does not take and what the source or the split refuses
    (a reversed range, a missing file or column, non-numeric or non-finite values, an empty
    part, a class too small to stratify).
    """
    key = f"datasets.{name}"
    generator = registry.GENERATORS[dataset["generator"]]
    unknown = sorted(set(grid.source_options(dataset)) - set(generator.options))
    if unknown:
        return [
            f"{key}.{option}: generator {generator.name} has no option {option!r}; "
            f"its options: {list(generator.options)}"
            for option in unknown
        ], None
    if dataset["generator"] in sources.ARCHIVES:
        return _archive_facts(key, dataset["generator"], grid.split_options(dataset))
    cache = _facts_cache(dataset)
    if cache is not None and cache.exists():
        return [], DataFacts(**json.loads(cache.read_text()))
    problems, facts = _generated_facts(key, dataset)
    if cache is not None and facts is not None:
        with contextlib.suppress(OSError):  # a read-only folder only loses the speed-up
            cache.parent.mkdir(parents=True, exist_ok=True)
            with files.atomic(cache) as temporary:
                temporary.write_text(json.dumps(dataclasses.asdict(facts)))
    return problems, facts


def _generated_facts(key: str, dataset: dict) -> tuple[list[str], DataFacts | None]:
    """The data set generated and split: what the source or the split refuses, or its facts."""
    try:
        generated = data.generate(dataset["generator"], **grid.source_options(dataset))
        rows = data.split(generated, **grid.split_options(dataset))
    except ValueError as error:
        where = ""
        if dataset["generator"] == "file" and dataset["path"] not in str(error):
            where = f" (data file {dataset['path']})"
        return [f"{key}: {error}{where}"], None
    outputs = generated.n_classes if generated.task == data.CLASSIFICATION else generated.y.shape[1]
    return [], DataFacts(
        generated.task,
        generated.x.shape[1],
        outputs,
        len(generated.y),
        len(rows.train),
        len(rows.validation),
        generated.input_shape,
    )


def _facts_cache(dataset: dict) -> Path | None:
    """The cache file of a slow source's facts, named by a digest of the data set's options (and
    the file's size and modification time); None for the fast synthetic sources and for a
    missing file (the check reports it)."""
    if dataset["generator"] in data.GENERATORS:
        return None
    identity = {"dataset": dataset, "format": 1}
    if dataset["generator"] == "file":
        path = Path(dataset["path"])
        if not path.is_file():
            return None
        stat = path.stat()
        identity["file"] = [stat.st_size, stat.st_mtime_ns]
    text = json.dumps(identity, sort_keys=True, default=str)
    return Path(FACTS_CACHE) / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.json"


def _archive_facts(key: str, name: str, split: dict) -> tuple[list[str], DataFacts | None]:
    """Facts of a Keras archive from its declaration (row counts, image shape, 10 classes)::

        test, validation = round(n · test_fraction), round(n · validation_fraction)
        training = subset or n − test − validation

    with n the archive's rows, its training and test files together.
    """
    archive = sources.ARCHIVES[name]
    n = archive.train_rows + archive.test_rows
    parts = [
        int(round(n * split.get(f"{p}_fraction", d))) for p, d in (("test", 0.2), ("validation", 0))
    ]
    training = split.get("subset") or n - sum(parts)
    if training > n - sum(parts):
        return [f"{key}.split.subset: at most {n - sum(parts)} (the training rows)"], None
    shape = archive.image_shape
    return [], DataFacts(data.CLASSIFICATION, int(np.prod(shape)), 10, n, training, parts[1], shape)

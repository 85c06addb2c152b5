"""What produced a result: the code, the packages, the machine and the numerics of a training job.

Each batch of runs a training job trains is recorded under the provenance of that job; a shard's
``provenance.json`` holds the records of its runs (a shard assembled from the store of trained
runs may hold several), each run carries its record's short key (``provenance`` in the runs
tables), and ``results/provenance.json`` gathers the records of a study, so that a result trained
under two provenances (runs added after an upgrade, on another machine) shows as such.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("decaylab", "numpy", "keras", "tensorflow", "jax", "jaxlib", "pandas", "scipy")
"""Packages whose versions are recorded (those installed; the backend's own among them)."""
SOURCE = Path(__file__).resolve().parents[2]
"""The checkout decaylab runs from, when it is installed from one (``pip install -e .``)."""


def installed_versions(packages) -> dict[str, str]:
    """The versions of those of ``packages`` that are installed, by name."""
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def record(backend: str, device: str, dtype: str, threads: int | None, git=None) -> dict:
    """The provenance of a training job run in this process, as plain JSON-able values; ``git``
    the ``(commit, uncommitted changes)`` of the checkout when the job started (:func:`git_state`
    now where not given: a record taken at the end would date runs by when they finished)."""
    versions = installed_versions(PACKAGES)
    commit, dirty = git_state(SOURCE) if git is None else git
    return {
        **versions,
        "commit": commit,
        "uncommitted_changes": dirty,
        "python": platform.python_version(),
        "backend": backend,
        "device": device,
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "system": platform.system(),
        "dtype": dtype,
        "threads": threads,
    }


def key(provenance: dict) -> str:
    """A short digest of a record: equal records, equal keys."""
    text = json.dumps(provenance, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def differences(recorded: dict, now: dict) -> list[str]:
    """``field: recorded → now`` for every field the two records do not share."""
    return [
        f"{name}: {recorded.get(name)} → {now.get(name)}"
        for name in sorted(set(recorded) | set(now))
        if recorded.get(name) != now.get(name)
    ]


def git_state(folder: Path) -> tuple[str | None, bool | None]:
    """``(commit, uncommitted changes)`` of the git checkout at ``folder``; ``(None, None)``
    where there is none (decaylab installed from a wheel, or no git)."""
    if not (folder / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or os.uname().machine


def gather(shards: dict[str, dict]) -> dict:
    """A study's provenance: ``{"records": {key: record}, "shards": {shard: [key, …]}}`` from
    each shard's ``provenance.json`` (:func:`decaylab.runner.train`'s ``result.provenance``), by
    shard (named ``EXPERIMENT/SHARD``): a shard assembled from runs trained at different times
    names every record its runs were trained under."""
    return {
        "records": {k: r for shard in shards.values() for k, r in shard["records"].items()},
        "shards": {path: sorted(shard["records"]) for path, shard in shards.items()},
    }


def html_table(study: dict) -> str:
    """The study's records as one HTML page: a row per field, a column per record (the fields
    that differ between records first, marked), and the shards trained under each."""
    import html

    import pandas as pd

    frame = pd.DataFrame(study["records"])
    if frame.empty:
        return "<p>No shard has been trained.</p>"
    differ = frame.astype(str).nunique(axis=1) > 1
    frame = pd.concat([frame[differ], frame[~differ]])
    frame.index = [f"{name} (differs)" if differ[name] else name for name in frame.index]
    shards = {k: [] for k in frame.columns}
    for path, keys in study["shards"].items():
        for k in keys:
            shards[k].append(path)
    frame.loc["shards"] = [", ".join(sorted(shards[k])) for k in frame.columns]
    heading = (
        f"{len(frame.columns)} provenances: the rows marked 'differs' tell them apart"
        if len(frame.columns) > 1
        else "One provenance: every shard was trained under it"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>provenance</title>"
        "<style>body{font-family:sans-serif} td,th{text-align:left;padding:2px 8px}</style>"
        "</head>"
        f"<body><h3>{html.escape(heading)}</h3>{frame.to_html(border=1, na_rep='')}</body></html>"
    )

"""What was fixed when: whether a claim's prediction was committed before the runs that judge it.

Per claim, the digest of its experiment's design (its ``expect`` block and every setting that
decides what trains: :func:`_design_digests`) as the config file holds it now, the commit at
which that design last changed (walking the file's history in git until it differs), and the
earliest commit that trained any of the experiment's runs (the shards' provenance records). The
prediction predates the runs when its commit is an ancestor of, or is, that training commit, the
training ran from a clean checkout, and none of the experiment's seeds was in its design before
the prediction's commit (runs of those seeds may have been seen: the store of trained runs makes
retraining them reproduce what was seen, so retraining alone never makes a claim confirmatory).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import yaml

UNCOMMITTED = "uncommitted"


def _git(*arguments: str, folder: Path) -> str | None:
    """``git -C folder arguments``' output, or None where git fails (no repository, no git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *arguments], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def digest(block) -> str:
    """A short digest of a config block as YAML reads it: equal blocks, equal digests."""
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()[:10]


PRESENTATION = ("description", "figures")
"""The keys of an experiment that do not decide what trains or how it is judged."""


def _design_digests(text: str) -> dict[str, str]:
    """Per experiment with an ``expect`` in a config file's ``text``, the digest of its design:
    the prediction and every setting that decides which runs train and how they are judged
    (grid, seeds, gates, margins: all keys but :data:`PRESENTATION`), and its data set's entry."""
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    experiments, datasets = config.get("experiments") or {}, config.get("datasets") or {}
    return {
        name: digest(
            {
                **{k: v for k, v in settings.items() if k not in PRESENTATION},
                "dataset_settings": datasets.get(settings.get("dataset")),
            }
        )
        for name, settings in experiments.items()
        if isinstance(settings, dict) and "expect" in settings
    }


def design_commits(config_path: str, folder: Path = Path(".")) -> dict[str, tuple[str, str]]:
    """Per experiment with an ``expect`` in ``config_path`` (relative to ``folder``, a git
    checkout): its design's digest now and the commit at which that last changed
    (:data:`UNCOMMITTED` where the working file differs from the last commit; "" without git)."""
    now = _design_digests((folder / config_path).read_text())
    history = (_git("log", "--format=%H", "--", config_path, folder=folder) or "").split()
    found = {name: (value, UNCOMMITTED if history else "") for name, value in now.items()}
    open_names = set(now)
    for commit in history:  # newest first: walk back while the design is unchanged
        then = _design_digests(_git("show", f"{commit}:{config_path}", folder=folder) or "")
        for name in list(open_names):
            if then.get(name) != now[name]:
                open_names.discard(name)
            else:
                found[name] = (now[name], commit)
        if not open_names:
            break
    return found


def _experiment_seeds(text: str) -> dict[str, set]:
    """Per experiment of a config file's ``text``, the seeds it lists."""
    try:
        experiments = (yaml.safe_load(text) or {}).get("experiments") or {}
    except yaml.YAMLError:
        return {}
    found = {}
    for name, settings in experiments.items():
        if isinstance(settings, dict):
            seeds = settings.get("seeds", [0])
            found[name] = set(seeds if isinstance(seeds, list) else [seeds])
    return found


def seeds_seen_before(config_path: str, commits: dict[str, str], folder: Path = Path(".")):
    """Per experiment of ``commits`` (name → the commit that fixed its prediction), the seeds
    its entry in ``config_path`` listed at any commit before that one: runs of them may have been
    seen when the prediction was written, so a confirmatory claim needs seeds disjoint from them
    (a store of trained runs would otherwise reuse the pilot's runs)."""
    history = (_git("log", "--format=%H", "--", config_path, folder=folder) or "").split()
    seen: dict[str, set] = {name: set() for name in commits}
    for name, commit in commits.items():
        if commit not in history:
            continue
        for older in history[history.index(commit) + 1 :]:
            text = _git("show", f"{older}:{config_path}", folder=folder) or ""
            seen[name] |= _experiment_seeds(text).get(name, set())
    return seen


def training_commits(study: dict, folder: Path = Path(".")) -> dict[str, tuple[str, bool]]:
    """Per experiment of a study's provenance (:func:`decaylab.provenance.gather`), the earliest
    commit (by commit time) that trained any of its shards, and whether that checkout had
    uncommitted changes."""
    per_experiment: dict[str, list[tuple[str, bool]]] = {}
    for shard, keys in study["shards"].items():
        for key in keys:
            record = study["records"][key]
            if record.get("commit"):
                entry = (record["commit"], bool(record.get("uncommitted_changes")))
                per_experiment.setdefault(shard.split("/")[0], []).append(entry)

    def when(entry):
        return int((_git("show", "-s", "--format=%ct", entry[0], folder=folder) or "0").strip())

    return {name: min(entries, key=when) for name, entries in per_experiment.items()}


def predates(design_commit: str, trained: tuple[str, bool] | None, folder=Path(".")) -> str:
    """``yes`` when the prediction's commit is an ancestor of (or is) the training commit and
    that training ran from a clean checkout, ``no`` when it is not, ``unknown`` otherwise."""
    if not design_commit or trained is None:
        return "unknown"
    if design_commit == UNCOMMITTED:
        return "no"
    commit, dirty = trained
    ancestor = subprocess.run(
        ["git", "-C", str(folder), "merge-base", "--is-ancestor", design_commit, commit],
        capture_output=True,
    ).returncode
    if ancestor == 1:
        return "no"
    if ancestor != 0:
        return "unknown"
    return "unknown (trained with uncommitted changes)" if dirty else "yes"


INFERENCE_MODULES = ("inference", "claims", "optima", "equilibrium", "expect", "refine")
"""The modules whose code decides a verdict, besides the config's ``expect`` block."""


def inference_digest() -> str:
    """A short digest of the source of :data:`INFERENCE_MODULES`: a verdict changes with the
    code that computes it as much as with the ``expect`` block."""
    text = "".join(
        (Path(__file__).parent / f"{name}.py").read_text(encoding="utf-8")
        for name in INFERENCE_MODULES
    )
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def stamp(table, config_paths: list[str], study: dict, folder: Path = Path(".")):
    """The claims ``table`` with, per claim, ``design_digest``, ``inference_digest``
    (:func:`inference_digest`), ``design_commit``, ``trained_commit`` and ``prediction_first``
    (:func:`predates`); the last of ``config_paths`` that has an experiment's ``expect`` is the
    one it was read from."""
    blocks: dict[str, tuple[str, str]] = {}
    seen: dict[str, set] = {}
    seeds: dict[str, set] = {}
    for path in config_paths:
        found_here = design_commits(path, folder)
        blocks.update(found_here)
        commits = {name: block[1] for name, block in found_here.items()}
        for name, listed in seeds_seen_before(path, commits, folder).items():
            seen[name] = seen.get(name, set()) | listed  # every config file's history counts
        seeds.update(_experiment_seeds((folder / path).read_text()))
    trained = training_commits(study, folder)
    found = [blocks.get(e, ("", "")) for e in table["experiment"]]
    first = [
        _first(predates(block[1], trained.get(e), folder), seeds.get(e, set()) & seen.get(e, set()))
        for block, e in zip(found, table["experiment"], strict=True)
    ]
    return table.assign(
        design_digest=[block[0] for block in found],
        inference_digest=inference_digest(),
        design_commit=[block[1] for block in found],
        trained_commit=[trained[e][0] if e in trained else "" for e in table["experiment"]],
        prediction_first=first,
    )


def _first(predated: str, reused_seeds: set) -> str:
    """``predated`` (:func:`predates`), or ``no`` where the experiment's seeds include any it
    listed before its prediction was committed."""
    if predated == "yes" and reused_seeds:
        listed = ", ".join(str(s) for s in sorted(reused_seeds))
        return f"no (seeds {listed} were in the design before the prediction)"
    return predated

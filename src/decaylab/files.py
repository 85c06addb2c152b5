"""Outputs written atomically and inputs read with checks that name the file (no backend).

A job killed while writing leaves a temporary file, never a truncated output; a reader that
finds a table shorter than the plan, a missing column or an unreadable archive says which file,
what is wrong and the command that repairs it — never a smaller table.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager, suppress
from pathlib import Path

import pandas as pd


class StaleInput(ValueError):
    """An input that is incomplete, corrupt or does not match the plan."""


class WriteFailed(OSError):
    """An output that could not be written (a full disk, an I/O error, a read-only folder)."""


@contextmanager
def atomic(path):
    """Yield a temporary path beside ``path`` (same suffix); rename it onto ``path`` on success.

    If writing fails with an ``OSError`` (``ENOSPC``, ``EIO``, ``EROFS`` …), the temporary file
    is removed, ``path`` keeps its previous content (or stays absent) and :class:`WriteFailed`
    names it: nothing is left that a rerun could take for finished.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    except WriteFailed:
        raise
    except OSError as error:
        previous = "its previous version is intact" if path.exists() else "it was not written"
        raise WriteFailed(
            error.errno,
            f"{path}: could not be written ({error.strerror or error}); {previous} and no "
            "partial file is left. Free space or fix the folder, then rerun",
        ) from error
    finally:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)


@contextmanager
def atomic_folder(path):
    """:func:`atomic` for a folder: yield a temporary folder beside ``path``, which replaces
    ``path`` (and everything in it) on success and is removed on failure."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial")
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        temporary.mkdir(parents=True)
        yield temporary
        shutil.rmtree(path, ignore_errors=True)
        os.replace(temporary, path)
    except OSError as error:
        raise WriteFailed(
            error.errno,
            f"{path}: could not be written ({error.strerror or error}); no partial folder is "
            "left. Free space or fix the folder, then rerun",
        ) from error
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def writable_problems(folders) -> list[str]:
    """Each of ``folders`` (those that exist, or the folder that would hold them) where a file
    cannot be created: read-only, full, or not ours."""
    found = []
    for folder in map(Path, folders):
        where = (
            folder
            if folder.exists()
            else next((p for p in folder.parents if p.exists()), Path("."))
        )
        try:
            handle, probe = tempfile.mkstemp(prefix=".decaylab-probe-", dir=where)
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            found.append(
                f"{where}/: cannot write there ({error.strerror or error}); the study writes "
                f"{folder}/ — make it writable (or run from a copy of the study)"
            )
    return found


def write_csv(frame: pd.DataFrame, path) -> None:
    """``frame`` to ``path`` as CSV, atomically."""
    with atomic(path) as temporary:
        frame.to_csv(temporary, index=False)


def read_csv(path, columns=(), rows: int | None = None, repair: str = "") -> pd.DataFrame:
    """A CSV table, checked: readable, with ``columns``, with exactly ``rows`` rows if given."""
    hint = f"; {repair}" if repair else ""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise StaleInput(f"{path}: unreadable table ({error}){hint}") from None
    missing = [c for c in columns if c not in frame]
    if missing:
        raise StaleInput(f"{path}: column {missing[0]!r} is missing{hint}")
    if rows is not None and len(frame) != rows:
        raise StaleInput(
            f"{path}: {len(frame)} rows, but the plan has {rows}: the file is incomplete or "
            f"stale{hint}"
        )
    return frame


def checked_npz(path, load, repair: str = ""):
    """``load(path)``, with a corrupt or truncated archive reported by its file name."""
    hint = f"; {repair}" if repair else ""
    try:
        return load(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise StaleInput(
            f"{path}: unreadable archive ({type(error).__name__}: {error}){hint}"
        ) from None


STUDY_OUTPUTS = (
    "results/tables/runs.csv",
    "results/tables/summary.csv",
    "results/provenance.json",
    "results/report.html",
)
"""Outputs that hold the whole study (per-experiment outputs live in folders of their own)."""


def replaced_study(experiments, summary="results/tables/summary.csv") -> str | None:
    """A warning when the study-wide outputs hold other experiments than ``experiments`` (the
    study of another config, which this run would replace), else None."""
    try:
        held = sorted(set(pd.read_csv(summary, usecols=["experiment"])["experiment"].astype(str)))
    except (OSError, ValueError):
        return None
    if set(held) == set(experiments):
        return None
    return (
        f"{', '.join(STUDY_OUTPUTS)} hold the study of another config (experiments "
        f"{', '.join(held)}); this run replaces them with this config's "
        f"({', '.join(experiments)}). The per-experiment outputs of both stay. To keep both "
        "studies whole, run this config in a copy of the study folder."
    )

"""Outputs written atomically and inputs read with checks that name the file (no backend).

A job killed while writing leaves a temporary file, never a truncated output; a reader that
finds a table shorter than the plan, a missing column or an unreadable archive says which file,
what is wrong and the command that repairs it — never a smaller table.
"""

from __future__ import annotations

import os
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


class StaleInput(ValueError):
    """An input that is incomplete, corrupt or does not match the plan."""


@contextmanager
def atomic(path):
    """Yield a temporary path beside ``path`` (same suffix); rename it onto ``path`` on success."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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

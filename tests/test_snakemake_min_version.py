"""The tests that lean on Snakemake's interfaces (the console plugin, `--configfile` replacing the
study, the workflow as a module, a requested stop) also pass on the oldest Snakemake the
Snakefile's ``min_version`` admits. ``.ci/run`` installs that release into
``.snakemake-min-version/`` (``pip install --target .snakemake-min-version snakemake==X``); where it
is absent, this test is skipped with that command."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OLDEST = REPO / ".snakemake-min-version"
TESTS = [
    "tests/test_console.py",
    "tests/test_interrupts.py::test_a_requested_stop_ends_with_what_stopped_and_how_to_resume",
    "tests/test_config_faults.py::test_a_configfile_on_the_command_line_is_the_whole_study",
    "tests/test_config_faults.py::test_a_key_given_twice_in_the_yaml_file_is_refused",
    "tests/test_config_faults.py::test_a_malformed_config_file_is_named_with_its_line",
    "tests/test_module.py",
]


def min_version() -> str:
    text = (REPO / "workflow/Snakefile").read_text()
    return re.search(r'min_version\("([0-9.]+)"\)', text).group(1)


def oldest_release(version: str) -> str:
    """``9.0`` → ``9.0.0``: the first release that ``min_version`` admits."""
    parts = version.split(".")
    return ".".join(parts + ["0"] * (3 - len(parts)))


def test_the_interface_tests_pass_on_the_oldest_admitted_snakemake():
    release = oldest_release(min_version())
    if not OLDEST.exists():
        pytest.skip(
            f"Snakemake {release} is not installed: pip install --target {OLDEST.name} "
            f"snakemake=={release}"
        )
    environment = {**os.environ, "PYTHONPATH": str(OLDEST)}
    version = subprocess.run(
        [sys.executable, "-m", "snakemake", "--version"],
        env=environment, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert version == release, f"{OLDEST.name} holds Snakemake {version}, not {release}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

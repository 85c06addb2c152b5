"""Write decaylab.yaml, the conda environment of every rule, from requirements.lock.

Run from the repository's root after refreshing the lock: ``python workflow/envs/pin_from_lock.py``
(tests/test_lock.py fails while the two disagree). The environment is Linux x86-64, Python 3.11:
the lock's pins whose markers hold there, installed by pip inside conda's Python.
"""

from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).parent
TARGET = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}
"""The environment markers of the conda environment."""


def pins(lock: Path) -> list[str]:
    """``name==version`` of every pin of ``lock`` that applies to :data:`TARGET`."""
    kept = []
    for line in lock.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(TARGET):
                kept.append(f"{requirement.name}{requirement.specifier}")
    return kept


HEADER = """\
# The software of every rule, for `snakemake --use-conda` (the quick start uses a venv instead):
# exactly the versions of requirements.lock for Linux x86-64 and Python 3.11, written by
# workflow/envs/pin_from_lock.py (tests/test_lock.py holds the two equal). Both Keras backends,
# TensorFlow and JAX, are in it. decaylab itself is installed by decaylab.post-deploy.sh, from
# the source that workflow/Snakefile names in DECAYLAB_SOURCE.
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python =3.11
  - pip
  - pip:
"""

if __name__ == "__main__":
    lines = [f"      - {pin}\n" for pin in pins(HERE.parents[1] / "requirements.lock")]
    (HERE / "decaylab.yaml").write_text(HEADER + "".join(lines))

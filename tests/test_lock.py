"""The lock file, pyproject.toml's ranges and the conda environments agree."""

import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
LOCKED_EXTRAS = ("test",)  # what the quick start installs: pip install -r requirements.lock


def locked() -> dict[str, list[tuple[Version, Requirement]]]:
    """``{name: [(version, requirement)]}``: each pin of the lock with its environment marker."""
    pins: dict[str, list] = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{LOCK.name}: {line!r} is not an exact pin"
            pins.setdefault(canonicalize_name(requirement.name), []).append(
                (Version(specifier.version), requirement)
            )
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"]] + [
        Requirement(r) for extra in LOCKED_EXTRAS for r in extras[extra]
    ]


def pin_here(name: str):
    """The lock's version of ``name`` for this Python and platform (None if it has none)."""
    environment = default_environment()
    versions = [
        version
        for version, requirement in locked().get(canonicalize_name(name), [])
        if requirement.marker is None or requirement.marker.evaluate(environment)
    ]
    assert len(versions) <= 1, f"{name}: {len(versions)} pins apply here"
    return versions[0] if versions else None


def test_every_declared_dependency_is_locked_within_its_range():
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is in pyproject.toml but not in {LOCK.name}: refresh"
        for version, _ in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{LOCK.name} pins {name}=={version}, outside pyproject.toml's {requirement}: "
                "refresh the lock (docs/reproducibility.md)"
            )


def test_the_main_packages_have_an_upper_bound_at_their_next_major_release():
    bounds = {canonicalize_name(r.name): r.specifier for r in declared()}
    for name in ("tensorflow", "keras", "jax", "numpy", "pandas"):
        upper = [s for s in bounds[name] if s.operator == "<"]
        assert upper, f"{name} has no upper bound in pyproject.toml"
        version, _ = max(locked()[name])
        assert Version(upper[0].version) == Version(f"{version.major + 1}"), (name, upper)


def test_this_environment_is_the_locked_one():
    """What the quick start installed is what the lock says, for this Python."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("not in a virtual environment made by the quick start")
    for name in locked():
        version = pin_here(name)
        if version is None:
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name}=={version} is locked, not installed: pip install -r {LOCK.name}")
        assert installed == version, f"{name}: installed {installed}, locked {version}"


def conda_pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of an environment file's pip section."""
    environment = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    pins = {}
    for line in pip:
        if line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def test_the_conda_environment_pins_what_the_lock_pins():
    """One environment serves both backends: the lock holds TensorFlow and JAX."""
    sys.path.insert(0, str(REPO / "workflow" / "envs"))
    from pin_from_lock import TARGET, pins

    path = REPO / "workflow" / "envs" / "decaylab.yaml"
    environment = yaml.safe_load(path.read_text())
    assert "python =3.11" in environment["dependencies"]
    written = conda_pins(path)
    expected = {}
    for line in pins(LOCK):
        requirement = Requirement(line)
        expected[canonicalize_name(requirement.name)] = next(iter(requirement.specifier)).version
    assert written == expected, "refresh it: python workflow/envs/pin_from_lock.py"
    for requirement in declared():
        if requirement.marker is None or requirement.marker.evaluate(TARGET):
            assert canonicalize_name(requirement.name) in written, requirement

"""The lock files and pyproject.toml agree, read without the network.

requirements-dev.txt (what `make` installs) pins every package of the dev venv with its hashes, requirements.txt
(what the Functions host installs) the production ones at the same versions; both are `make lock`'s output
(uv pip compile --universal: one file for every Python, split by markers where the resolutions differ).
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.worker.worker_env import ROOT

PROJECT = "regional-failover"
# The dev venv's Python and the Function App's (infra/: pythonVersion); 3.12 and 3.14 for the azure-functions split.
PYTHONS = ("3.11", "3.13")
ALL_PYTHONS = ("3.11", "3.12", "3.13", "3.14")
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: tuple[str, ...]


def read_pins(path: Path) -> list[Pin]:
    """A requirements file of `name==version [; marker] [--hash=...]` lines (continued with a backslash)."""
    pins = []
    for raw in path.read_text().replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        text, *hashes = re.split(r"\s+--hash=", line)
        requirement = Requirement(text)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{path.name}: not a pin: {line}"
        assert not requirement.extras and not requirement.url, f"{path.name}: {line}"
        name = canonicalize_name(requirement.name)
        pins.append(Pin(name, specifiers[0].version, requirement.marker, tuple(hashes)))
    return pins


def environment(python: str) -> dict[str, str]:
    """The marker environment of this platform (Linux, CPython, as on Azure) on another Python version."""
    env = dict(default_environment())
    env.update(
        python_version=python, python_full_version=f"{python}.0" if python != RUNNING else sys.version.split()[0]
    )
    env["extra"] = ""
    return env


def applies(marker: Marker | None, python: str, extra: str = "") -> bool:
    return marker is None or marker.evaluate({**environment(python), "extra": extra})


def pinned(path: Path, python: str) -> dict[str, str]:
    """Name -> version of the pins that apply on that Python; two that apply at once fail."""
    found: dict[str, str] = {}
    for pin in read_pins(path):
        if applies(pin.marker, python):
            assert pin.name not in found, f"{path.name}: two pins of {pin.name} apply on Python {python}"
            found[pin.name] = pin.version
    return found


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def production_requirements() -> list[Requirement]:
    return [Requirement(line) for line in pyproject()["dependencies"]]


def every_requirement() -> list[Requirement]:
    """The dependencies and those of every extra, less the project's references to itself (dev -> local)."""
    lines = [
        *pyproject()["dependencies"],
        *(line for extra in pyproject()["optional-dependencies"].values() for line in extra),
    ]
    return [r for r in map(Requirement, lines) if canonicalize_name(r.name) != PROJECT]


DEV_LOCK = ROOT / "requirements-dev.txt"
PRODUCTION = ROOT / "requirements.txt"


def test_lock_files_are_pins_and_the_dev_lock_has_hashes() -> None:
    for path in (DEV_LOCK, PRODUCTION):
        assert read_pins(path), path.name
        for python in ALL_PYTHONS:
            pinned(path, python)  # one pin of each package on each Python
    assert all(pin.hashes for pin in read_pins(DEV_LOCK)), "`pip install --require-hashes` needs a hash on every pin"
    assert not any(pin.hashes for pin in read_pins(PRODUCTION)), "tests/worker/worker_env.py adds the worker library"


@pytest.mark.parametrize("python", PYTHONS)
def test_dev_lock_pins_every_dependency_of_pyproject(python: str) -> None:
    locked = pinned(DEV_LOCK, python)
    for requirement in every_requirement():
        if applies(requirement.marker, python):
            name = canonicalize_name(requirement.name)
            assert name in locked, f"{requirement} is not in requirements-dev.txt: `make lock`"
            assert requirement.specifier.contains(locked[name], prereleases=True), (
                f"requirements-dev.txt pins {name}=={locked[name]}, pyproject.toml wants {requirement}: `make lock`"
            )


@pytest.mark.parametrize("python", PYTHONS)
def test_requirements_txt_pins_production_at_the_locked_versions(python: str) -> None:
    production, locked = pinned(PRODUCTION, python), pinned(DEV_LOCK, python)
    for name, version in production.items():
        assert locked.get(name) == version, (
            f"requirements.txt: {name}=={version}, requirements-dev.txt: {locked.get(name)}"
        )
    for requirement in production_requirements():
        if applies(requirement.marker, python):
            name = canonicalize_name(requirement.name)
            assert name in production, f"{requirement} is not in requirements.txt: `make lock`"
            assert requirement.specifier.contains(production[name], prereleases=True), requirement


def test_the_venv_holds_the_locked_versions() -> None:
    """`make` installed requirements-dev.txt (the next test reads these packages' metadata)."""
    wrong = {}
    for name, version in pinned(DEV_LOCK, RUNNING).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed == "missing" or Version(installed) != Version(version):
            wrong[name] = f"{installed}, locked {version}"
    assert not wrong, f"the venv is not requirements-dev.txt (`make`): {wrong}"


def closure(roots: list[Requirement]) -> set[str]:
    """The packages roots need on this Python, by the installed packages' own metadata (the venv is the lock)."""
    needed: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo = [(r, "") for r in roots]  # (requirement, the extra of the package that asks for it)
    while todo:
        requirement, extra = todo.pop()
        if not applies(requirement.marker, RUNNING, extra):
            continue
        name = canonicalize_name(requirement.name)
        needed.add(name)
        for wanted in ("", *requirement.extras):
            if (name, wanted) not in seen:
                seen.add((name, wanted))
                try:
                    requires = metadata.requires(name) or []
                except metadata.PackageNotFoundError:
                    requires = []  # not installed: the test above names it
                todo.extend((Requirement(line), wanted) for line in requires)
    return needed


def test_requirements_txt_is_the_production_closure() -> None:
    """Every package the production dependencies need, and nothing else (no test or local-host package on Azure)."""
    assert sorted(pinned(PRODUCTION, RUNNING)) == sorted(closure(production_requirements()))


def test_dev_lock_is_the_closure_of_every_dependency() -> None:
    """Nothing left in the lock that no dependency needs any more (`make lock` drops it)."""
    assert sorted(pinned(DEV_LOCK, RUNNING)) == sorted(closure(every_requirement()))


def test_azure_functions_by_python_version() -> None:
    """azure-functions 1.x installs only below Python 3.13 and 2.x only on 3.13+ (docs/deploy.md)."""
    for path in (PRODUCTION, DEV_LOCK):
        majors = {python: Version(pinned(path, python)["azure-functions"]).major for python in ALL_PYTHONS}
        assert majors == {"3.11": 1, "3.12": 1, "3.13": 2, "3.14": 2}, path.name

"""requirements.txt (what the Functions host installs) and pyproject.toml (what `make` installs) agree."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.worker.worker_env import ROOT


def normalized(line: str) -> tuple[str, str, str, str]:
    """Name, extras, version specifier and environment marker, each in one canonical spelling."""
    requirement = Requirement(line)
    return (
        canonicalize_name(requirement.name),
        ",".join(sorted(requirement.extras)),
        str(requirement.specifier),
        str(requirement.marker or ""),
    )


def requirements_txt() -> list[str]:
    lines = (line.split(" #")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def project_dependencies() -> list[str]:
    return list(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def test_requirements_txt_is_project_dependencies() -> None:
    """Same packages, pins and environment markers (the order and the quoting may differ)."""
    assert sorted(map(normalized, requirements_txt())) == sorted(map(normalized, project_dependencies()))


def test_no_duplicate_without_a_marker() -> None:
    """A package listed twice must be split by markers (azure-functions: 1.x below Python 3.13, 2.x on 3.13+)."""
    seen: dict[str, list[str]] = {}
    for name, _, _, marker in map(normalized, requirements_txt()):
        seen.setdefault(name, []).append(marker)
    for name, markers in seen.items():
        assert len(markers) == 1 or all(markers), f"{name} listed {len(markers)} times, not all under a marker"


def test_azure_functions_by_python_version() -> None:
    """azure-functions 1.26 installs only below Python 3.13 and 2.x only on 3.13+ (docs/deploy.md)."""
    found = {}
    for line in requirements_txt():
        requirement = Requirement(line)
        if requirement.name == "azure-functions":
            assert requirement.marker is not None, line
            for python in ("3.11", "3.12", "3.13", "3.14"):
                if requirement.marker.evaluate({"python_version": python}):
                    assert python not in found, f"two azure-functions lines apply on Python {python}"
                    found[python] = requirement.specifier
    assert {python: str(spec) for python, spec in found.items()} == {
        "3.11": "<2,>=1.26",
        "3.12": "<2,>=1.26",
        "3.13": "<3,>=2.3",
        "3.14": "<3,>=2.3",
    }

"""A clone is self-contained: nothing refers to the team's folder beside the repository, and the reference
samples the tests read (tests/reference/) are all listed, with their sources, in tests/reference/README.md."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from local.stack import ROOT
from tests.conftest import REFERENCE

# Built from parts so that this file does not contain what it looks for.
PARENT = ".." + "/"
NEEDLES = (
    (PARENT + "shared").encode(),  # the folder beside the root, as a relative path
    ("shared" + "/" + "reference").encode(),  # its reference folder, however it is reached
    ("parent / " + '"shared"').encode(),  # the same, as a pathlib expression from the root
    ("work" + "/" + "shared").encode(),  # its absolute path on the team's machines
)
README = REFERENCE / "README.md"
# A list item or a section heading that starts with a path in backquotes names a file (or, ending in /, a folder)
NAMED = re.compile(r"^(?:- |## )`([^`]+)`", re.MULTILINE)


def repository_files() -> list[str]:
    """Tracked files, and untracked ones git does not ignore (what the next commit may add)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git work tree")
    listed: list[str] = []
    for extra in ([], ["--others", "--exclude-standard"]):
        done = subprocess.run(["git", "ls-files", "-z", *extra], cwd=ROOT, capture_output=True, check=True)
        listed += [name for name in done.stdout.decode().split("\0") if name]
    return sorted(set(listed))


def named_in_readme() -> set[str]:
    return set(NAMED.findall(README.read_text(encoding="utf-8")))


class TestNothingOutside:
    def test_no_file_refers_to_the_shared_folder(self) -> None:
        """No tracked or addable file names the shared folder beside the repository, in any form."""
        files = repository_files()
        assert "tests/conftest.py" in files and "tests/reference/README.md" in files, files[:20]
        found = []
        for name in files:
            path = ROOT / name
            if not path.is_file():  # deleted in the work tree, not yet committed
                continue
            data = path.read_bytes()
            found += [f"{name}: {needle.decode()}" for needle in NEEDLES if needle in data]
        assert not found, found

    def test_the_needles_are_found(self) -> None:
        """The scan would see a reference: each needle, as code would write it, contains one of them."""
        forms = ['ROOT.parent / "{s}" / "reference"', "{p}{s}/ARCHITECTURE.md", "/work/{s}/reference", "{p}{p}{s}/x"]
        for form in forms:
            text = form.format(s="shared", p=PARENT)
            assert any(needle in text.encode() for needle in NEEDLES), text
        assert not any(needle in b"tests/reference/alerts, a shared fixture" for needle in NEEDLES)

    def test_reference_is_inside_the_repository(self) -> None:
        """The tests' reference folder is under the repository's root."""
        assert REFERENCE.resolve().is_relative_to(ROOT.resolve()) and REFERENCE.is_dir()


class TestReferenceReadme:
    def test_every_named_file_exists(self) -> None:
        """Every file or folder tests/reference/README.md names is there."""
        named = named_in_readme()
        assert named, "the README names no file"
        missing = sorted(
            n for n in named if not (REFERENCE / n).exists() or (REFERENCE / n).is_dir() != n.endswith("/")
        )
        assert not missing, missing

    def test_every_file_is_named(self) -> None:
        """Every file in tests/reference (but the README) is named in its README, with its source."""
        present = {p.relative_to(REFERENCE).as_posix() for p in REFERENCE.rglob("*") if p.is_file()} - {"README.md"}
        assert present, "tests/reference is empty"
        assert sorted(present - named_in_readme()) == []

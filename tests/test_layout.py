"""The product's modules stay small: a module that passes 450 lines has found a seam and is split there.

Product modules: the git-tracked .py files under failover/, orchestrations/, activities/ and local/, and
function_app.py (the simulator, tests and benchmarks are not product code)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from local.stack import ROOT

MAX_LINES = 450
PRODUCT = ("failover/", "orchestrations/", "activities/", "local/")
# modules allowed over the limit while a split is in progress (none)
PENDING: set[str] = set()


def product_modules() -> list[str]:
    """The tracked product modules, as paths relative to the repository root."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git work tree")
    done = subprocess.run(["git", "ls-files", "-z", "--", "*.py"], cwd=ROOT, capture_output=True, check=True)
    names = [name for name in done.stdout.decode().split("\0") if name]
    return sorted(n for n in names if n == "function_app.py" or n.startswith(PRODUCT))


def line_counts() -> dict[str, int]:
    counts = {}
    for name in product_modules():
        path = ROOT / name
        if path.is_file():  # a tracked file deleted in the work tree is not a module any more
            counts[name] = len(path.read_text(encoding="utf-8").splitlines())
    return counts


def test_the_product_modules_are_found() -> None:
    counts = line_counts()
    assert {"function_app.py", "failover/plan/model.py", "local/cli.py", "activities/asr.py"} <= set(counts)
    assert not any(name.startswith(("simulator/", "tests/", "bench/")) for name in counts)


def test_no_product_module_passes_the_limit() -> None:
    over = {name: lines for name, lines in line_counts().items() if lines > MAX_LINES and name not in PENDING}
    assert not over, f"modules over {MAX_LINES} lines (split each at a seam): " + ", ".join(
        f"{name}: {lines}" for name, lines in sorted(over.items(), key=lambda item: -item[1])
    )


def test_pending_modules_are_still_over() -> None:
    """PENDING lists only modules still over the limit: one split (or gone) comes off the list."""
    counts = line_counts()
    done = sorted(name for name in PENDING if counts.get(name, 0) <= MAX_LINES)
    assert not done, f"no longer over {MAX_LINES} lines, remove from PENDING in tests/test_layout.py: {', '.join(done)}"

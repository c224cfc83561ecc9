"""The app loads in Azure's Python 3.13 worker: indexed and loaded by the worker library (azure-functions-runtime)
from a tree laid out as deployed, in a venv of requirements.txt. `app.get_functions()` alone (tests/
test_function_app.py) does not run the worker's checks: issue 18's `invalid non-type annotation` passed it.

Without Python 3.13 this skips, saying how to install it; on CI (CI set) or with FAILOVER_REQUIRE_WORKER_CHECK=1
it fails instead. The venv is cached under .venv/worker-3.13/ (`make test` builds it first: tests/worker/
worker_env.py); docs/deploy.md, "Python version and the load check", has the timings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.worker import worker_env
from tests.worker.worker_env import ROOT, deployed_files

# The app settings function_app.py needs at import; the host's worker also sees PYTHON_ENABLE_OPENTELEMETRY
# (infra/app/function.bicep), which has the worker library set up OpenTelemetry on init.
APP_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME": "python",
    "FAILOVER_APPROVAL_SIGNING_KEY": "test-key",
    "PYTHON_ENABLE_OPENTELEMETRY": "true",
}


def host_environment() -> dict[str, str]:
    """This process's environment less the project's settings and Python paths, plus APP_SETTINGS."""
    drop = ("FAILOVER_", "PYTHON", "VIRTUAL_ENV", "APPLICATIONINSIGHTS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | APP_SETTINGS


def dev_function_count() -> int:
    """What `app.get_functions()` reports in the dev venv (a fresh process: the SDK builds an app's functions once)."""
    code = "import function_app; print(len(function_app.app.get_functions()))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=host_environment(), capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])


def python_313() -> str:
    """Python 3.13, or a skip saying how to install it; a failure instead where the check is required."""
    python = worker_env.find_python()
    if python is None:
        if worker_env.required():
            pytest.fail(f"{worker_env.INSTALL_HINT} (required here: CI or FAILOVER_REQUIRE_WORKER_CHECK=1)")
        pytest.skip(worker_env.INSTALL_HINT)
    return python


@pytest.fixture(scope="module")
def worker_python() -> Path:
    return worker_env.worker_python(python_313())


@pytest.mark.timeout(1200)  # a cold venv build downloads requirements.txt (~1 min on the dev machine)
def test_worker_loads_every_function(worker_python: Path, tmp_path: Path) -> None:
    app = tmp_path / "site" / "wwwroot"
    app.mkdir(parents=True)
    files = worker_env.lay_out(app)
    assert "function_app.py" in files and "host.json" in files and "requirements.txt" in files
    assert not any(path.startswith(("tests/", "local/", "simulator/")) for path in files)

    started = time.monotonic()
    done = subprocess.run(
        [str(worker_python), str(worker_env.LOADER), str(app)],
        cwd=app,
        env=host_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    took = time.monotonic() - started
    report = done.stdout + done.stderr
    code = done.returncode
    assert code == 0, f"the Python 3.13 worker refuses the app (exit {code}, {took:.1f} s):\n{report}"

    loaded = re.findall(r"^loaded (\S+) ", done.stdout, re.MULTILINE)
    assert f"OK: {len(loaded)} functions loaded" in done.stdout, report
    assert len(loaded) == len(set(loaded)) == dev_function_count(), report


class TestWithoutPython313:
    @pytest.fixture(autouse=True)
    def no_python(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(worker_env, "find_python", lambda: None)
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("FAILOVER_REQUIRE_WORKER_CHECK", raising=False)

    def test_skips_saying_how_to_install_it(self) -> None:
        with pytest.raises(pytest.skip.Exception, match=r"pyenv install 3\.13"):
            python_313()

    @pytest.mark.parametrize(("name", "value"), [("CI", "true"), ("CI", "1"), ("FAILOVER_REQUIRE_WORKER_CHECK", "1")])
    def test_fails_where_required(self, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(pytest.fail.Exception, match=r"Python 3\.13 not found"):
            python_313()

    def test_ci_false_is_not_ci(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CI", "false")
        assert not worker_env.required()


class TestFuncignore:
    """The deployed tree leaves out what .funcignore names, with git's reading of the patterns."""

    @pytest.mark.parametrize(
        ("lines", "path", "expected"),
        [
            ("tests", "tests/test_x.py", True),
            ("tests", "tests", True),
            ("tests", "a/tests/b.py", True),  # no slash: at any depth
            ("/tests", "a/tests/b.py", False),  # a leading slash anchors at the root
            ("*.pyc", "a/b/c.pyc", True),
            ("docs/*.md", "docs/a.md", True),
            ("docs/*.md", "docs/x/a.md", False),  # * stops at /
            ("docs/**/*.md", "docs/x/y/a.md", True),
            ("build/", "build", False),  # a trailing slash: directories only
            ("build/", "build/x.py", True),
            ("*.json\n!host.json", "host.json", False),  # the last matching pattern decides
            ("*.json\n!host.json", "a.json", True),
            ("a\n!a/b.py", "a/b.py", True),  # nothing under an ignored directory comes back
            ("# tests\n\ntests", "tests/x", True),
        ],
    )
    def test_patterns(self, tmp_path: Path, lines: str, path: str, expected: bool) -> None:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
        (tmp_path / ".funcignore").write_text(lines)
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        assert (path not in deployed_files(tmp_path)) is expected

    def test_the_repository_deploys_the_app_not_its_tests(self) -> None:
        deployed = set(deployed_files(ROOT))
        assert {"function_app.py", "host.json", "requirements.txt"} <= deployed
        assert not any(p.startswith(("tests/", "local/", "simulator/", "docs/")) for p in deployed)

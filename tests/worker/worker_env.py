"""The Python 3.13 worker check's pieces: find Python 3.13, its cached venv, and the app laid out as deployed.

`python -m tests.worker.worker_env` (run by `make test` before pytest) builds or reuses the venv and prints its
interpreter; without Python 3.13 it fails when the check is required (CI set, or FAILOVER_REQUIRE_WORKER_CHECK=1)
and otherwise says how to install it and exits 0 (tests/test_worker_load.py then skips).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = (3, 13)
# The worker library the Functions host's Python 3.13 worker runs the app with (indexing, loading, invoking).
RUNTIME = "azure-functions-runtime==1.3.0"
CACHE = ROOT / ".venv" / "worker-3.13"  # inside .venv: ignored by git and ruff, removed by `make clean`
LOADER = Path(__file__).resolve().parent / "load_app.py"

INSTALL_HINT = (
    "Python 3.13 not found: the worker load check (tests/test_worker_load.py) loads the app with Python 3.13 and "
    "the Functions worker library, as Azure runs it. Install it (`pyenv install 3.13`, `uv python install 3.13`, "
    "or the python3.13 and python3.13-venv packages) or point FAILOVER_PYTHON313 at its interpreter."
)


class WorkerEnvError(RuntimeError):
    pass


def required() -> bool:
    """The check must run (and fails without Python 3.13) on CI and when FAILOVER_REQUIRE_WORKER_CHECK=1."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("FAILOVER_REQUIRE_WORKER_CHECK") == "1"


def candidates() -> Iterator[str]:
    if explicit := os.environ.get("FAILOVER_PYTHON313"):
        yield explicit
    pyenv_roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in filter(None, pyenv_roots):
        yield from sorted(map(str, Path(root).glob("versions/3.13*/bin/python3.13")), reverse=True)
    if pyenv := shutil.which("pyenv"):
        prefix = run_quiet([pyenv, "prefix", "3.13"])
        if prefix:
            yield str(Path(prefix.splitlines()[-1]) / "bin" / "python3.13")
    for name in ("python3.13", "python3"):
        if found := shutil.which(name):
            yield found


def run_quiet(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def find_python() -> str | None:
    """A Python 3.13 interpreter that runs (the pyenv shim `python3.13` answers only when 3.13 is selected)."""
    probe = "import sys; print(sys.version_info[:2] == (3, 13))"
    for candidate in candidates():
        if Path(candidate).is_file() and run_quiet([candidate, "-c", probe]) == "True":
            return candidate
    return None


def env_key(python: str) -> str:
    version = run_quiet([python, "-c", "import sys; print(sys.version)"])
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    digest.update(f"\n{RUNTIME}\n{version}".encode())
    return digest.hexdigest()[:16]


def worker_python(python: str) -> Path:
    """The interpreter of a venv with requirements.txt and the worker library: reused while requirements.txt,
    the library pin and the Python build are the same, built otherwise (older ones are then removed). The pins are
    installed without their dependencies and `pip check` then holds them to be all that is needed."""
    key = env_key(python)
    venv = CACHE / key
    interpreter = venv / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time (make and a test run started alongside)
        if (venv / ".installed").exists():
            return interpreter
        shutil.rmtree(venv, ignore_errors=True)  # a build that did not finish
        started = time.monotonic()
        pip = [str(interpreter), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        requirements = str(ROOT / "requirements.txt")
        for step in (
            [python, "-m", "venv", str(venv)],
            [*pip, "install", "--no-deps", "-r", requirements],  # exactly the lock (make lock), as Azure gets it
            [*pip, "install", "-c", requirements, RUNTIME],  # the worker library and what it needs, the pins kept
            [*pip, "check"],  # fails when requirements.txt misses a dependency of its packages on Python 3.13
        ):
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                output = (done.stdout + done.stderr)[-6000:]
                raise WorkerEnvError(f"{' '.join(step)} failed ({done.returncode}):\n{output}")
        (venv / ".installed").write_text(f"{python}\nbuilt in {time.monotonic() - started:.1f} s\n")
        for old in CACHE.iterdir():
            if old.is_dir() and old.name != key:
                shutil.rmtree(old, ignore_errors=True)
    return interpreter


# --- the app as deployed: the repository's files less those .funcignore names ---


def repository_files(root: Path = ROOT) -> list[str]:
    """Tracked files and untracked ones git does not ignore, that exist in the work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    return sorted({p for p in listed if p and (root / p).is_file()})


def funcignored(root: Path = ROOT) -> set[str]:
    """The files (tracked or not) that .funcignore's patterns name, read by git itself: .funcignore has
    gitignore's syntax and semantics (the last matching pattern decides, nothing under an ignored directory
    comes back)."""
    if not (root / ".funcignore").exists():
        return set()
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--ignored", "--exclude-from=.funcignore", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    return {p for p in listed if p}


def deployed_files(root: Path = ROOT) -> list[str]:
    """The repository's files less those .funcignore names: what the deployment package holds."""
    left_out = funcignored(root)
    return [p for p in repository_files(root) if p not in left_out]


def lay_out(target: Path, root: Path = ROOT) -> list[str]:
    """Copy the deployed files into target (as the deployment package unpacks on the host)."""
    files = deployed_files(root)
    for path in files:
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / path, target / path)
    return files


def main() -> int:
    python = find_python()
    if python is None:
        print(INSTALL_HINT, file=sys.stderr)
        if required():
            print("The check is required here (CI or FAILOVER_REQUIRE_WORKER_CHECK=1).", file=sys.stderr)
            return 1
        print("tests/test_worker_load.py will be skipped.", file=sys.stderr)
        return 0
    started = time.monotonic()
    try:
        interpreter = worker_python(python)
    except WorkerEnvError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"worker venv ({RUNTIME}, {python}): {interpreter.parent.parent} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

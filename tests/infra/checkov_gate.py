"""`make infra-check`: run checkov on infra/ and fail unless the Bicep is clean.

Run with the tool venv's python (checkov pins many packages, so it lives in .venv-tools, not .venv):
    .venv-tools/bin/python tests/infra/checkov_gate.py [infra]
Clean means: no failed check; no file checkov could not parse (it would silently skip that file's resources);
some checks did pass (the scan saw the resources); every skip is a `// checkov:skip=ID: reason` comment in the
Bicep with a reason, and every such comment is a skip checkov reported (no stale skips). Standard library only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

SKIP = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+)(?::\s*(.*))?")
NO_REASON = "No comment provided"


def skip_comments(root: Path) -> dict[tuple[str, str], str]:
    """(file relative to root with a leading '/', check id) -> reason, from the Bicep sources."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(root.rglob("*.bicep")):
        for line in path.read_text().splitlines():
            match = SKIP.search(line)
            if match:
                found[("/" + path.relative_to(root).as_posix(), match.group(1))] = (match.group(2) or "").strip()
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "infra")
    checkov = Path(sys.executable).with_name("checkov")
    started = time.monotonic()
    run = subprocess.run(
        # Through the interpreter: checkov's script carries a plain `#!<venv>/bin/python` line, which the kernel
        # cannot run from a path with a space in it (a clone in "/tmp/ci run/" failed with ENOENT).
        [
            sys.executable,
            str(checkov),
            "--directory",
            str(root),
            "--framework",
            "bicep",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print(run.stdout[-2000:], run.stderr[-2000:], sep="\n", file=sys.stderr)
        print("checkov gate: checkov did not produce a JSON report", file=sys.stderr)
        return 2
    reports = report if isinstance(report, list) else [report]
    results: dict[str, list[dict]] = {"passed_checks": [], "failed_checks": [], "skipped_checks": []}
    parsing_errors: list[str] = []
    for one in reports:
        for key in results:
            results[key] += one.get("results", {}).get(key, [])
        parsing_errors += one.get("results", {}).get("parsing_errors", [])

    problems: list[str] = []
    for check in results["failed_checks"]:
        problems.append(
            f"FAILED {check['check_id']} {check['resource']} {check['file_path']}:{check['file_line_range']}"
            f" ({check.get('check_name', '')})"
        )
    problems += [f"checkov could not parse {path}: its resources were not checked" for path in parsing_errors]
    if not results["passed_checks"]:
        problems.append("no check passed: checkov saw no resource")
    reported = set()
    for check in results["skipped_checks"]:
        reported.add((check["file_path"], check["check_id"]))
        comment = (check.get("check_result") or {}).get("suppress_comment") or NO_REASON
        if comment == NO_REASON or len(comment) < 20:
            problems.append(f"skip of {check['check_id']} in {check['file_path']} has no reason")
    for (path, check_id), reason in skip_comments(root).items():
        if (path, check_id) not in reported:
            problems.append(f"stale skip: {check_id} in {path} ({reason[:60]}) is not a check checkov ran there")

    summary = (
        f"checkov gate: {len(results['passed_checks'])} checks passed; {len(results['failed_checks'])} checks failed; "
        f"{len(results['skipped_checks'])} skipped; {len(parsing_errors)} files not parsed "
        f"({time.monotonic() - started:.1f}s)"
    )
    for problem in problems:
        print(problem, file=sys.stderr)
    print(summary)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

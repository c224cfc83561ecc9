"""`failover`: the local host's command line.

`failover demo [--json] [--time-scale X] [--vms N] [--sessions N]` starts the simulator, the local
engine and the local API; posts a real-shaped Service Health alert (an Active incident in West
Europe) to `POST /api/alerts`; approves the run as a demo approver would (reads the Teams card the
simulator received, opens the Approve link, confirms by POST); shows progress; prints the summary.
With `--json` the last stdout line is the summary object (contract, see README).

`failover serve [--host 127.0.0.1] [--port 7071] [--plan FILE ...] [--api-key KEY]` serves the HTTP API
on the local engine; with no Azure settings (FAILOVER_ARM_ENDPOINT unset) it starts the simulator with
the demo estate. Startup lines (contract): `api: URL`, `simulator: URL`, `api key: KEY` (when generated).

`failover start|status|list|cancel|retry|skip|approve|report ...`: thin clients of that API (`--api URL`,
`--api-key KEY`; or FAILOVER_API_URL, FAILOVER_API_KEY). They print the API's JSON answer.

`failover plan check FILE...` validates plan files, naming file, line and field of each problem.

Here: the parser, the API clients and `watch`; `demo` is in local/demo.py, `serve` in local/serve.py, `plan check`
and `plan preview` in local/plan_commands.py, `bench` in local/bench.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

from failover.errors import PlanError
from local.api_client import ApiError as ApiError  # re-exported
from local.api_client import call as _call
from local.api_client import show as _print
from local.demo import Progress, print_summary, run_demo
from local.demo_operator import TERMINAL
from local.demo_operator import approve_as as approve_as  # re-exported: tests approve runs the way the demo does
from local.demo_operator import find_approval_link as find_approval_link  # re-exported, as approve_as
from local.paths import DEMO_ALERT, DEMO_PLAN, EVACUATION_PLANS

# What a command needs beyond the API client (the engine, the simulator, the SDKs, the plan models) is
# imported when that command runs: `failover --help` and the thin clients start in a fraction of a second
# (docs/performance.md, "Start-up: imports"; tests/local/test_import_time.py).


def run_start(args: argparse.Namespace) -> int:
    # The requester is the signed-in caller, not a body field: --requested-by acts as that identity (locally the
    # X-MS-CLIENT-PRINCIPAL-NAME header, as --as), and the body repeats it (the API refuses a mismatch).
    args = argparse.Namespace(**{**vars(args), "as_user": args.as_user or args.requested_by})
    body = {"plan": args.plan, "mode": args.mode, "reason": args.reason, "requested_by": args.requested_by}
    return _print(_call(args, "POST", "failovers", {k: v for k, v in body.items() if v is not None}))


def run_status(args: argparse.Namespace) -> int:
    return _print(_call(args, "GET", f"failovers/{args.id}"))


def run_list(args: argparse.Namespace) -> int:
    data = _call(args, "GET", "failovers", plan=args.plan, status=args.status)
    if args.json:
        return _print(data)
    if not data["runs"]:
        print("no runs" + "".join(f" {k} {v}" for k, v in (("of plan", args.plan), ("with status", args.status)) if v))
    for run in data["runs"]:
        print(f"{run['instance_id']:<44} {run['plan'] or '':<16} {run['status'] or '':<20} {run['stage'] or ''}")
    return 0


def run_drill_cleanup(args: argparse.Namespace) -> int:
    body = {"plan": args.plan, "reason": args.reason}
    return _print(_call(args, "POST", "drills/cleanup", {k: v for k, v in body.items() if v is not None}))


def run_backup_test(args: argparse.Namespace) -> int:
    """Start the plan's Azure Backup restore tests (`--test N`: one of them); `status`, `list` and `report` read
    them (mode `restore-test`)."""
    body: dict[str, object] = {"plan": args.plan}
    if args.test is not None:
        body["test"] = args.test
    return _print(_call(args, "POST", "backup-tests", body))


def run_readiness(args: argparse.Namespace) -> int:
    """Can the plan fail over now: the readiness checks the API runs, one line each (or the JSON)."""
    data = _call(args, "GET", f"plans/{args.plan}/readiness")
    if args.json:
        return _print(data)
    print(f"{data['plan']}: {data['status']} (checked {data['checked_at']})")
    for check in data["checks"]:
        print(f"  {check['status']:<4} {check['name']}: {check['message']}")
    return 0 if data["status"] != "fail" else 2


def run_cancel(args: argparse.Namespace) -> int:
    return _print(_call(args, "POST", f"failovers/{args.id}/cancel", {"reason": args.reason} if args.reason else {}))


def run_plan_action(args: argparse.Namespace) -> int:
    return _print(_call(args, "POST", f"failovers/{args.id}/plans/{args.recovery_plan}/{args.command}", {}))


def run_watch(args: argparse.Namespace) -> int:
    """Follow a run until it ends, then print its summary: a live view (local/live.py) when stdout is a
    terminal, else line by line (stage, batches, VMs, sessions, new errors). Exit 0 when it completed
    without errors, 2 when it ended otherwise."""
    from contextlib import nullcontext

    from local.live import live_view

    live = live_view(sys.stdout)
    progress = live or Progress(sys.stdout)
    seen_errors = 0
    deadline = time.monotonic() + args.timeout
    with live or nullcontext():
        while True:
            status = _call(args, "GET", f"failovers/{args.id}")
            progress.show(status)
            errors = status.get("errors") or []
            for error in errors[seen_errors:] if live is None else []:  # the live view lists errors itself
                print(f"  error: {error}", flush=True)
            seen_errors = len(errors)
            if status["runtime_status"] in TERMINAL:
                break
            if time.monotonic() > deadline:
                print(f"failover: still running after {args.timeout:.0f}s; stopped watching", file=sys.stderr)
                return 1
            time.sleep(args.interval)
    summary = status.get("output")
    if not isinstance(summary, dict):
        print(f"run ended {status['runtime_status']} without a summary", file=sys.stderr)
        return 2
    print_summary(summary, sys.stdout)
    return 0 if summary["status"] == "Completed" else 2


def run_report(args: argparse.Namespace) -> int:
    """The run report: the HTML page (to --html FILE, else stdout), or its facts as JSON (--json)."""
    base = (args.api or os.environ.get("FAILOVER_API_URL") or "http://127.0.0.1:7071").rstrip("/")
    if args.json:
        data = _call(args, "GET", f"failovers/{args.id}/report", format="json")
        if not args.html:
            return _print(data)
    key = args.api_key or os.environ.get("FAILOVER_API_KEY") or ""
    try:
        answer = requests.get(
            f"{base}/api/failovers/{args.id}/report", headers={"x-functions-key": key} if key else {}, timeout=30
        )
    except requests.ConnectionError as err:
        raise ApiError(f"cannot reach the API at {base} (is `failover serve` running?): {err}") from None
    if answer.status_code >= 400:
        try:
            error = (answer.json() or {}).get("error") or {}
        except ValueError:
            error = {}
        raise ApiError(f"HTTP {answer.status_code} {error.get('code', '')}: {error.get('message', answer.text[:200])}")
    if not args.html:
        sys.stdout.write(answer.text)
        return 0
    Path(args.html).write_text(answer.text, encoding="utf-8")
    if args.json:
        return _print(data)
    print(f"report written to {args.html}")
    return 0


def run_approve(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"decision": "reject" if args.reject else "approve", "comment": args.comment}
    if args.exclude:
        body["exclude"] = args.exclude
    return _print(_call(args, "POST", f"failovers/{args.id}/approvals", body))


def run_evacuate(args: argparse.Namespace) -> int:
    """Evacuate a region: every plan whose primary it is, one approval, tier by tier, one shared in-flight cap."""
    body: dict[str, Any] = {"region": args.region, "in_flight_cap": args.cap}
    if args.reason:
        body["reason"] = args.reason
    if args.exclude:
        body["exclude"] = args.exclude
    if args.dry_run:
        body["dry_run"] = True
    return _print(_call(args, "POST", "evacuations", body))


def run_evacuation_status(args: argparse.Namespace) -> int:
    return _print(_call(args, "GET", f"evacuations/{args.id}"))


def run_serve(args: argparse.Namespace) -> int:
    from local.serve import run_serve

    return run_serve(args)


def run_plan_check(args: argparse.Namespace) -> int:
    from local.plan_commands import run_plan_check

    return run_plan_check(args)


def run_plan_preview(args: argparse.Namespace) -> int:
    from local.plan_commands import run_plan_preview

    return run_plan_preview(args)


def run_bench(args: argparse.Namespace) -> int:
    if args.evacuation:
        from local.bench_evacuation import main as evacuation

        return evacuation(args)
    from local.bench import main

    return main(args)


def _probability(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return number


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _client_options(sub: argparse.ArgumentParser) -> None:
    """What every thin client command takes: where the API is, its key, and (locally) who acts."""
    sub.add_argument("--api", help="API base URL (default FAILOVER_API_URL or http://127.0.0.1:7071)")
    sub.add_argument("--api-key", help="function key (default FAILOVER_API_KEY)")
    sub.add_argument("--as", dest="as_user", help="identity to act as (local only: X-MS-CLIENT-PRINCIPAL-NAME)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="failover", description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = root.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a whole failover against the simulator")
    demo.add_argument("--json", action="store_true", help="print the summary as one JSON line (last stdout line)")
    demo.add_argument(
        "--time-scale",
        type=_positive,
        default=120.0,
        help="divide every plan duration and simulated job time by this (default 120)",
    )
    demo.add_argument("--vms", type=int, default=260, help="VMs in the simulated estate (default 260)")
    demo.add_argument("--sessions", type=int, default=220, help="AVD user sessions (default 220)")
    demo.add_argument("--plan", default=str(DEMO_PLAN), help="plan file (default plans/demo.yaml)")
    demo.add_argument("--alert", default=str(DEMO_ALERT), help="alert payload to post")
    demo.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    demo.add_argument(
        "--mode",
        choices=["failover", "test", "failback"],
        default="failover",
        help="failover (an alert starts it, default), test (a drill: test failover, verify, cleanup) or "
        "failback (a failover, then the failback to the primary region)",
    )
    demo.add_argument("--report", metavar="FILE", help="write the run report (HTML) of the finished run to FILE")
    demo.add_argument(
        "--faults",
        type=_probability,
        metavar="RATE",
        help="inject throttling (429) and transient errors (500, 503, connection resets) into this share of "
        "ARM calls, e.g. 0.2; the summary's `simulator` object counts them",
    )
    demo.add_argument(
        "--outage",
        nargs="?",
        const="full",
        choices=("full", "partial", "flapping"),
        metavar="VARIANT",
        help="rehearse the outage: the plan's primary region goes down - `full` (the default): all of it, for good "
        "(session hosts Unavailable, SQL and storage primaries unreachable, Traffic Manager endpoints there "
        "Degraded, ASR's source-site steps failing); `partial`: half its session hosts only; `flapping`: all of "
        "it, down and up again every 5 simulated minutes. The demo plays the on-call engineer, approving and "
        'forcing what cannot run friendly (docs/simulator.md, "The outage")',
    )
    demo.add_argument(
        "--outage-at",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the outage begins this many simulated seconds after the alert (default 0: it is down already)",
    )
    demo.add_argument(
        "--evacuation",
        nargs="?",
        const=str(EVACUATION_PLANS),
        metavar="DIR",
        help="evacuate the region instead: the plans of DIR (default plans/evacuation: identity and data in tier 0, "
        "apps in tier 1) share the estate, the incident starts one evacuation of them, approved on one card; "
        "with --outage the region is really down",
    )
    demo.set_defaults(handler=run_demo)
    bench = commands.add_parser("bench", help="measure a scaled failover against its floor and a sequential runbook")
    bench.add_argument("--vms", type=int, default=1000, help="VMs in the simulated estate (default 1000)")
    bench.add_argument("--sessions", type=int, default=2000, help="AVD user sessions (default 2000)")
    bench.add_argument(
        "--time-scale", type=float, default=600.0, help="simulated seconds per wall-clock second (default 600)"
    )
    bench.add_argument(
        "--concurrency", type=int, default=32, help="log-off calls in flight per session host (default 32)"
    )
    bench.add_argument("--no-baseline", action="store_true", help="skip the sequential runbook (baseline_s is null)")
    bench.add_argument("--json", action="store_true", help="print the figures as one JSON line (last stdout line)")
    bench.add_argument("--evacuation", action="store_true", help="an evacuation of --plans plans sharing --vms VMs")
    bench.add_argument("--plans", type=int, default=100, help="--evacuation: plans (default 100)")
    bench.add_argument("--cap", type=int, default=100, help="--evacuation: shared in-flight cap (default 100)")
    bench.add_argument("--vaults", type=int, default=4, help="--evacuation: vaults the plans use (default 4)")
    bench.add_argument(
        "--wire-log", metavar="FILE", help="--evacuation: write every request the simulator answered (JSON lines)"
    )
    bench.set_defaults(handler=run_bench)
    serve = commands.add_parser("serve", help="serve the HTTP API on the local engine")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7071, help="port (default 7071, as `func start`)")
    serve.add_argument("--plan", action="append", default=[], help="plan file (repeatable; default plans/demo.yaml)")
    serve.add_argument("--api-key", help="the function key clients must send (default: generated and printed)")
    serve.add_argument("--time-scale", type=_positive, default=120.0, help="simulator time scale (default 120)")
    serve.add_argument("--vms", type=int, default=260, help="VMs in the simulated estate (default 260)")
    serve.add_argument("--sessions", type=int, default=220, help="AVD sessions in the simulated estate (default 220)")
    serve.set_defaults(handler=run_serve)

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        _client_options(sub)
        return sub

    start = client("start", "start a failover of a plan (planned, unplanned or test)")
    start.add_argument("--plan", required=True)
    start.add_argument("--mode", choices=["planned", "unplanned", "test"], required=True)
    start.add_argument("--reason")
    start.add_argument(
        "--requested-by",
        help="who starts it: sent as the signed-in identity (locally X-MS-CLIENT-PRINCIPAL-NAME, as --as) and in "
        "the body; in Azure the sign-in decides, and a different name is refused",
    )
    start.set_defaults(handler=run_start)
    status = client("status", "show a run")
    status.add_argument("id")
    status.set_defaults(handler=run_status)
    listing = client("list", "list runs")
    listing.add_argument("--plan")
    listing.add_argument("--status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)
    drill = commands.add_parser("drill", help="drill commands: cleanup")
    drill_commands = drill.add_subparsers(dest="drill_command", required=True)
    cleanup = drill_commands.add_parser(
        "cleanup", help="clean up the test failovers an earlier drill left (no approval; production untouched)"
    )
    _client_options(cleanup)
    cleanup.add_argument("plan")
    cleanup.add_argument("--reason")
    cleanup.set_defaults(handler=run_drill_cleanup)
    backup_test = client(
        "backup-test", "restore a VM from Azure Backup into the isolated network, check it, delete it (restore test)"
    )
    backup_test.add_argument("plan")
    backup_test.add_argument("--test", type=int, metavar="N", help="only the plan's backup_tests[N] (default: all)")
    backup_test.set_defaults(handler=run_backup_test)
    readiness = client("readiness", "can the plan fail over now: its readiness checks (exit 2 when one fails)")
    readiness.add_argument("plan")
    readiness.add_argument("--json", action="store_true")
    readiness.set_defaults(handler=run_readiness)
    cancel = client("cancel", "cancel a run (no new batch starts; running jobs are watched to their end)")
    cancel.add_argument("id")
    cancel.add_argument("--reason")
    cancel.set_defaults(handler=run_cancel)
    helps = {
        "retry": "retry what waits for an operator: a failed recovery plan, a failed dependency, or sign-out",
        "skip": "skip what waits for an operator (the run goes on without it and ends CompletedWithErrors)",
        "force": "force a failed dependency: a SQL failover allowing data loss, a NetApp force break",
    }
    for action, text in helps.items():
        sub = client(action, text)
        sub.add_argument("id")
        sub.add_argument("recovery_plan", metavar="name", help="a recovery plan, a dependency, or sign-out")
        sub.set_defaults(handler=run_plan_action)
    approve = client("approve", "approve (or --reject) a run through the API, as --as USER")
    approve.add_argument("id")
    approve.add_argument("--reject", action="store_true")
    approve.add_argument("--comment")
    approve.add_argument(
        "--exclude", action="append", metavar="NAME", help="approve without this recovery plan (an evacuation: plan)"
    )
    approve.set_defaults(handler=run_approve)
    evacuate = client("evacuate", "evacuate a region: every plan whose primary it is, one approval, tier by tier")
    evacuate.add_argument("region")
    evacuate.add_argument("--reason")
    evacuate.add_argument("--exclude", action="append", metavar="PLAN", help="leave this plan out")
    evacuate.add_argument(
        "--cap", type=int, default=100, help="VMs failing over at once across all the plans (default 100)"
    )
    evacuate.add_argument(
        "--dry-run", action="store_true", help="print the plans' order and the predicted recovery time; start nothing"
    )
    evacuate.set_defaults(handler=run_evacuate)
    evacuation = client("evacuation", "show an evacuation: each plan's row, the approval, the summary once ended")
    evacuation.add_argument("id")
    evacuation.set_defaults(handler=run_evacuation_status)
    watch = client("watch", "follow a run (live view on a terminal, else line by line) until it ends, then its summary")
    watch.add_argument("id")
    watch.add_argument("--interval", type=_positive, default=2.0, help="seconds between reads (default 2)")
    watch.add_argument("--timeout", type=_positive, default=86400.0, help="stop watching after this many seconds")
    watch.set_defaults(handler=run_watch)
    report = client("report", "the run report of a finished run (HTML, or --json)")
    report.add_argument("id")
    report.add_argument("--html", metavar="FILE", help="write the HTML page to FILE (default: stdout)")
    report.add_argument("--json", action="store_true", help="print the report's facts as JSON")
    report.set_defaults(handler=run_report)

    plan = commands.add_parser("plan", help="plan files")
    plan_commands = plan.add_subparsers(dest="plan_command", required=True)
    check = plan_commands.add_parser("check", help="validate plan files")
    check.add_argument("files", nargs="+")
    check.set_defaults(handler=run_plan_check)
    show = plan_commands.add_parser("preview", help="dry run: batches, offsets, expected recovery time")
    show.add_argument("plan", help="plan file")
    show.add_argument("--json", action="store_true", help="one JSON object: batches, eta_seconds, rto_target_seconds")
    show.add_argument("--mode", choices=["planned", "unplanned", "test"], help="default: the plan's asr.mode")
    show.add_argument("--vms", type=int, default=260, help="VMs in the simulated estate (default 260)")
    show.set_defaults(handler=run_plan_preview)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except PlanError as err:
        print("\n".join(err.errors), file=sys.stderr)
        return 2
    except ApiError as err:
        print(f"failover: {err}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as err:
        print(f"failover: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

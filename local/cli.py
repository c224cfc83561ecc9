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
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TextIO

import requests

from failover.logs import configure_logging
from failover.plan import PlanError, load_plan, load_plans
from failover.settings import Settings, configure
from local.stack import DEMO_PLAN, ROOT, LocalStack
from simulator import EstateConfig
from simulator.faults import FaultConfig, RouteFaults

DEMO_ALERT = ROOT / "examples" / "alerts" / "service-health-incident-westeurope.json"
TERMINAL = {"Completed", "Failed", "Terminated"}


class _FormReader(HTMLParser):
    """Reads the confirm page's form as a browser would: its action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden":
            self.fields[values.get("name", "")] = values.get("value", "")


def find_approval_link(messages: list[dict[str, Any]], instance_id: str, title: str = "Approve") -> str | None:
    """The card's Action.OpenUrl with this title whose link belongs to this run."""
    for entry in reversed(messages):
        for attachment in entry["message"].get("attachments", []):
            for action in attachment.get("content", {}).get("actions", []):
                url = action.get("url", "")
                if action.get("title") == title and f"/api/approvals/{instance_id}?" in url:
                    return str(url)
    return None


def approve_as(approver: str, link: str, comment: str = "") -> requests.Response:
    """Open the link (confirm page, changes nothing), then submit its form signed in as `approver`."""
    page = requests.get(link, timeout=10)
    page.raise_for_status()
    form = _FormReader()
    form.feed(page.text)
    base = re.match(r"^https?://[^/]+", link)
    assert base is not None
    return requests.post(
        base.group(0) + form.action,
        data={**form.fields, "comment": comment},
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": approver},
        timeout=10,
    )


class Progress:
    """Prints a line whenever the run's stage or batch progress changes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last = ""
        self.t0 = time.monotonic()

    def show(self, status: dict[str, Any]) -> None:
        custom = status.get("custom_status") or {}
        progress = custom.get("progress") or {}
        line = (
            f"{custom.get('stage', status.get('runtime_status'))}: "
            f"batches {progress.get('batches_done', 0)}/{progress.get('batches_total', 0)} done "
            f"({progress.get('batches_started', 0)} started), "
            f"VMs {progress.get('vms_failed_over', 0)}/{progress.get('vms_total', 0)}, "
            f"sessions logged off {progress.get('sessions_logged_off', 0)}/{progress.get('sessions_found', 0)}"
        )
        if line != self.last:
            self.last = line
            print(f"[{time.monotonic() - self.t0:6.1f}s] {line}", file=self.out, flush=True)


def run_demo(args: argparse.Namespace) -> int:
    out = sys.stderr if args.json else sys.stdout
    configure_logging("WARNING", json_output=False)
    alert = json.loads(Path(args.alert).read_text(encoding="utf-8"))
    estate_config = EstateConfig()
    if args.faults is not None:  # throttling and transient errors on every ARM route
        estate_config.faults = FaultConfig(arm=RouteFaults.transient(args.faults))
    with LocalStack(
        plan_path=Path(args.plan),
        vms=args.vms,
        sessions=args.sessions,
        time_scale=args.time_scale,
        estate_config=estate_config,
    ) as stack:
        print(f"simulator: {stack.simulator.url}", file=out)
        print(f"api: {stack.api_url}", file=out)
        print(
            f"plan: {stack.plan.name} ({args.vms} VMs, {args.sessions} sessions, time scale x{args.time_scale:g})",
            file=out,
        )
        if args.mode == "failback":  # first the failover the failback undoes, in the same simulator
            first = _demo_run(stack, args, out, stack.http.post(f"{stack.api_url}/api/alerts", json=alert, timeout=30))
            if first is None:
                return 1
            print(f"failover {first['status']}; failing back", file=out)
            answer = stack.http.post(
                f"{stack.api_url}/api/failbacks",
                json={"plan": stack.plan.name, "reason": "demo: the primary region is healthy again"},
                timeout=30,
            )
        elif args.mode == "test":  # a drill, as an operator or the monthly timer starts it
            answer = stack.http.post(
                f"{stack.api_url}/api/drills",
                json={"plan": stack.plan.name, "force": True, "reason": "demo drill"},
                timeout=30,
            )
        else:
            answer = stack.http.post(f"{stack.api_url}/api/alerts", json=alert, timeout=30)
        summary = _demo_run(stack, args, out, answer)
        if summary is None:
            return 1
        if args.report:
            from failover.report import report_html

            Path(args.report).write_text(report_html(summary), encoding="utf-8")
            print(f"report: {args.report}", file=out)
        summary["simulator"] = stack.simulator_stats()
        if args.json:
            print(json.dumps(summary))
        else:
            print_summary(summary, out)
        return 0 if summary["status"] == "Completed" else 2


def _demo_run(stack: LocalStack, args: argparse.Namespace, out: TextIO, answer: requests.Response) -> Any:
    """Follow one run the demo started: approve it as the first approver, show progress, return its summary."""
    if answer.status_code != 202:
        print(f"the run was not started: HTTP {answer.status_code} {answer.text}", file=sys.stderr)
        return None
    instance_id = answer.json()["instance_id"]
    print(f"run {instance_id} accepted", file=out)

    from contextlib import nullcontext

    from local.live import live_view

    live = live_view(out)  # a terminal: the live view (lines printed to `out` go above it); else line by line
    out = live.out if live else out
    progress = live or Progress(out)
    approver = stack.plan.approval.approvers[0] if stack.plan.approval.approvers else None
    approved = stack.plan.approval.required == 0
    deadline = time.monotonic() + args.timeout
    status: dict[str, Any] = {}
    with live or nullcontext():
        while time.monotonic() < deadline:
            status = stack.http.get(f"{stack.api_url}/api/failovers/{instance_id}", timeout=10).json()
            progress.show(status)
            if status["runtime_status"] in TERMINAL:
                break
            if not approved and approver and (status.get("custom_status") or {}).get("approval", {}).get("waiting"):
                messages = requests.get(
                    f"{stack.simulator.url}/_sim/teams/messages", verify=stack.simulator.ca_bundle, timeout=10
                ).json()
                link = find_approval_link(messages, instance_id)
                if link:
                    decision = approve_as(approver, link, comment="demo approval")
                    print(f"approved by {approver}: HTTP {decision.status_code}", file=out)
                    approved = decision.ok
            time.sleep(0.2)
        else:
            print(f"the run did not finish within {args.timeout}s", file=sys.stderr)
            return None
    summary = status.get("output")
    if status["runtime_status"] != "Completed" or not isinstance(summary, dict):
        print(f"run ended {status['runtime_status']}: {summary}", file=sys.stderr)
        return None
    return summary


def print_summary(summary: dict[str, Any], out: TextIO) -> None:
    print("", file=out)
    print(f"Run {summary['instance_id']} ({summary['plan']}, {summary['mode']}): {summary['status']}", file=out)
    for decision in summary["approvals"]:
        print(f"  approval: {decision['decision']} by {decision['approver']} at {decision['at']}", file=out)
    sessions = summary["sessions"]
    print(f"  sessions: {sessions['logged_off']} of {sessions['found']} logged off", file=out)
    for batch in summary["batches"]:
        print(
            f"  batch {batch['index']} [{batch['group']}] {batch['vms']:>3} VMs "
            f"{batch['started_at']} → {batch['finished_at']} {batch['status']} ({', '.join(batch['recovery_plans'])})",
            file=out,
        )
    moved = "test-failed over (isolated network)" if summary.get("mode") == "test" else "failed over"
    print(f"  VMs {moved}: {summary['vms_failed_over']}", file=out)
    for dep in summary.get("dependencies") or []:
        detail = dep.get("details") or {}
        synced = detail.get("last_sync_time")
        extra = f" (last sync {synced}: later writes may be lost)" if synced else ""
        print(f"  dependency {dep['name']} ({dep['kind']}): {dep['status']}{extra}", file=out)
    if summary.get("standby"):
        print(f"  standby session hosts started: {', '.join(summary['standby']['vms'])}", file=out)
    verify = summary.get("verify") or {}
    for check in verify.get("checks", []):
        print(f"  verify {check['name']}: {'healthy' if check['healthy'] else 'NOT healthy'}", file=out)
    for change in summary["dns"]:
        before, after = change["from"], change["to"]
        if isinstance(before, dict):  # a Traffic Manager endpoint
            before, after = f"{before['status']} p{before['priority']}", f"{after['status']} p{after['priority']}"
        print(f"  dns: {change['record']}: {before} → {after}", file=out)
    print(f"  events published: {summary['events_published']}", file=out)
    scale = summary.get("time_scale", 1)
    unscaled_min = summary["rto_seconds"] * scale / 60
    target_min = summary["rto_target_seconds"] * scale / 60
    print(
        f"  recovery time: {summary['rto_seconds']:.1f}s at time scale x{scale:g} "
        f"(≈ {unscaled_min:.0f} min unscaled; target {target_min:.0f} min)",
        file=out,
    )
    if summary.get("drill"):
        drill = summary["drill"]
        verdict = "met" if drill["rto_met"] else "MISSED"
        achieved, target = drill["rto_seconds"] * scale / 60, drill["rto_target_seconds"] * scale / 60
        print(f"  drill: recovery time ≈ {achieved:.0f} min unscaled, target {target:.0f} min: {verdict}", file=out)
    if summary.get("cleanup") is not None:
        print(f"  drill cleanup: {summary['cleanup']}", file=out)
    for error in summary["errors"]:
        print(f"  error: {error}", file=out)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def run_serve(args: argparse.Namespace) -> int:
    """The API on the local engine: against the simulator (default) or Azure (FAILOVER_ARM_ENDPOINT set)."""
    configure_logging("WARNING", json_output=False)
    plans = [Path(p) for p in args.plan] or [DEMO_PLAN]
    generated = not (args.api_key or os.environ.get("FAILOVER_API_KEY"))
    api_key = args.api_key or os.environ.get("FAILOVER_API_KEY") or None
    if os.environ.get("FAILOVER_ARM_ENDPOINT"):
        return _serve_azure(args, plans, api_key)
    with LocalStack(
        plan_path=plans[0],
        extra_plans=plans[1:],
        vms=args.vms,
        sessions=args.sessions,
        time_scale=args.time_scale,
        api_key=api_key,
        port=args.port,
    ) as stack:
        print(f"api: {stack.api_url}", flush=True)
        print(f"simulator: {stack.simulator.url}", flush=True)
        if generated:
            print(f"api key: {stack.api_key}", flush=True)
        print(f"plans: {', '.join(sorted(stack.api.plans))}", flush=True)
        print("press Ctrl-C to stop", flush=True)
        _wait_for_signal()
    return 0


def _serve_azure(args: argparse.Namespace, plan_files: list[Path], api_key: str | None) -> int:
    """Local engine and API, real Azure APIs (settings from FAILOVER_* variables)."""
    import secrets

    from activities import ALL as ACTIVITIES
    from failover.handlers import Api
    from local.engine import LocalEngine
    from local.server import LocalServer
    from orchestrations import ALL as ORCHESTRATORS

    key = api_key or secrets.token_urlsafe(24)
    settings = Settings.from_env()
    configure(settings)
    plans = {}
    for path in plan_files:
        plans.update(load_plans(path) if path.is_dir() else {load_plan(path).name: load_plan(path)})
    with LocalEngine(ORCHESTRATORS, ACTIVITIES) as engine:
        server = LocalServer(Api(settings, plans), engine.client, host=args.host, port=args.port, api_key=key)
        server.start()
        try:
            print(f"api: {server.url}", flush=True)
            if not api_key:
                print(f"api key: {key}", flush=True)
            print(f"arm: {settings.arm_endpoint}", flush=True)
            _wait_for_signal()
        finally:
            server.stop()
    return 0


class ApiError(Exception):
    """The API refused a request: its error envelope."""


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
    base = (args.api or os.environ.get("FAILOVER_API_URL") or "http://127.0.0.1:7071").rstrip("/")
    key = args.api_key or os.environ.get("FAILOVER_API_KEY") or ""
    headers = {"x-functions-key": key} if key else {}
    if getattr(args, "as_user", None):
        headers["X-MS-CLIENT-PRINCIPAL-NAME"] = args.as_user
    try:
        answer = requests.request(
            method,
            f"{base}/api/{path}",
            json=body,
            params={k: v for k, v in params.items() if v is not None},
            headers=headers,
            timeout=30,
        )
    except requests.ConnectionError as err:
        raise ApiError(f"cannot reach the API at {base} (is `failover serve` running?): {err}") from None
    try:
        data = answer.json()
    except ValueError:
        raise ApiError(f"HTTP {answer.status_code} from {base}: {answer.text[:200]}") from None
    if answer.status_code >= 400:
        error = (data or {}).get("error") or {}
        raise ApiError(f"HTTP {answer.status_code} {error.get('code', '')}: {error.get('message', answer.text)}")
    return dict(data)


def _print(data: dict[str, Any]) -> int:
    print(json.dumps(data, indent=2))
    return 0


def run_start(args: argparse.Namespace) -> int:
    body = {"plan": args.plan, "mode": args.mode, "reason": args.reason, "requested_by": args.requested_by}
    return _print(_call(args, "POST", "failovers", {k: v for k, v in body.items() if v is not None}))


def run_status(args: argparse.Namespace) -> int:
    return _print(_call(args, "GET", f"failovers/{args.id}"))


def run_list(args: argparse.Namespace) -> int:
    data = _call(args, "GET", "failovers", plan=args.plan, status=args.status)
    if args.json:
        return _print(data)
    for run in data["runs"]:
        print(f"{run['instance_id']:<32} {run['plan'] or '':<16} {run['status'] or '':<20} {run['stage'] or ''}")
    return 0


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
    body = {"decision": "reject" if args.reject else "approve", "comment": args.comment}
    return _print(_call(args, "POST", f"failovers/{args.id}/approvals", body))


def run_plan_preview(args: argparse.Namespace) -> int:
    """Batches, offsets, DNS changes and the expected recovery time, with VM counts read from ASR: the
    simulator's demo estate, or Azure when FAILOVER_ARM_ENDPOINT is set."""
    from activities.planning import read_groups
    from failover.preview import preview

    plan = load_plan(args.plan)
    configure_logging("WARNING", json_output=False)
    if os.environ.get("FAILOVER_ARM_ENDPOINT"):
        configure(Settings.from_env())
        groups = read_groups(plan)
    else:
        with LocalStack(plan_path=Path(args.plan), vms=args.vms, sessions=1) as _stack:
            groups = read_groups(plan)
    result = preview(plan, groups, mode=args.mode)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Plan {plan.name} ({result['mode']}): {result['vms']} VMs in {len(result['batches'])} batches")
    for batch in result["batches"]:
        names = ", ".join(f"{j['name']} ({j['vms']})" for j in batch["recovery_plans"])
        print(
            f"  batch {batch['index']} [{batch['group']}] {batch['vms']:>3} VMs "
            f"start +{batch['start_offset_s'] / 60:.1f} min, done +{batch['expected_end_s'] / 60:.1f} min: {names}"
        )
    for step in result["steps"]:
        print(f"  {step['name']}: +{step['start_s'] / 60:.1f} → +{step['end_s'] / 60:.1f} min")
    for change in result["dns"]:
        print(f"  dns: {change['record']} → {change['to']}")
    verdict = "within" if result["within_rto"] else "OVER"
    print(
        f"  expected recovery time {result['eta_seconds'] / 60:.1f} min, {verdict} the RTO target "
        f"{result['rto_target_seconds'] / 60:.0f} min (approval time not included)"
    )
    return 0


def run_plan_check(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            plan = load_plan(path)
        except PlanError as err:
            failed = True
            for line in err.errors:
                print(line, file=sys.stderr)
            continue
        print(f"{path}: ok (plan '{plan.name}', {len(plan.groups)} groups)")
    return 1 if failed else 0


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
    demo.set_defaults(handler=run_demo)
    from local import bench

    bench.add_parser(commands)
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
        sub.add_argument("--api", help="API base URL (default FAILOVER_API_URL or http://127.0.0.1:7071)")
        sub.add_argument("--api-key", help="function key (default FAILOVER_API_KEY)")
        sub.add_argument("--as", dest="as_user", help="identity to act as (local only: X-MS-CLIENT-PRINCIPAL-NAME)")
        return sub

    start = client("start", "start a failover of a plan (planned, unplanned or test)")
    start.add_argument("--plan", required=True)
    start.add_argument("--mode", choices=["planned", "unplanned", "test"], required=True)
    start.add_argument("--reason")
    start.add_argument("--requested-by")
    start.set_defaults(handler=run_start)
    status = client("status", "show a run")
    status.add_argument("id")
    status.set_defaults(handler=run_status)
    listing = client("list", "list runs")
    listing.add_argument("--plan")
    listing.add_argument("--status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)
    cancel = client("cancel", "cancel a run (no new batch starts; running jobs are watched to their end)")
    cancel.add_argument("id")
    cancel.add_argument("--reason")
    cancel.set_defaults(handler=run_cancel)
    for action in ("retry", "skip"):
        sub = client(action, f"{action} a failed recovery plan of a stopped group")
        sub.add_argument("id")
        sub.add_argument("recovery_plan")
        sub.set_defaults(handler=run_plan_action)
    approve = client("approve", "approve (or --reject) a run through the API, as --as USER")
    approve.add_argument("id")
    approve.add_argument("--reject", action="store_true")
    approve.add_argument("--comment")
    approve.set_defaults(handler=run_approve)
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

"""Live progress of a run in a terminal (rich): what `failover watch ID` and `failover demo` show when their
output is a terminal. When it is not (a pipe, a file, CI), they print the plain line-by-line follow instead.

`render(status)` is a pure function of the run as `GET /api/failovers/{id}` returns it (its live custom
status: stage, approval gate, progress counters, batches, operator, steps, errors; or its summary once it
finished) and draws:

- a header: run, plan, mode, stage, runtime status, time since the run was created;
- the approval gate: not required, waiting (for how many of whom, until when, what happens on timeout,
  escalated), or the decisions taken;
- the steps so far, each with its state;
- progress bars: AVD sessions logged off of those found, VMs failed over of the plan's total, one bar per
  group (its VMs failed over, its batches done) and one per batch (Pending, Running: a pulsing bar,
  then its VMs that failed over). The API does not expose a batch's progress inside its ASR jobs, so a
  running batch pulses rather than filling up. With more than `MAX_BATCH_ROWS` batches, only the batches
  of groups under way or failed are listed (every group keeps its bar);
- recovery plans waiting for an operator's retry or skip, and a requested cancel;
- the errors so far (the newest `MAX_ERRORS`; the summary printed at the end lists all of them).

`live_view(out)` returns a `LiveView` drawing on `out` when it is a terminal, else None.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO, cast

from rich.console import Console, Group, RenderableType
from rich.file_proxy import FileProxy
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

BAR_WIDTH = 30
MAX_BATCH_ROWS = 12
MAX_ERRORS = 8
TERMINAL = {"Completed", "Failed", "Terminated"}
STYLES = {
    "Succeeded": "green",
    "Completed": "green",
    "Running": "cyan",
    "Pending": "dim",
    "Failed": "bold red",
    "TimedOut": "bold red",
    "Terminated": "bold red",
    "CompletedWithErrors": "yellow",
    "Cancelled": "yellow",
    "Rejected": "yellow",
}


def _style(state: Any) -> str:
    return STYLES.get(str(state), "")


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _elapsed(status: dict[str, Any], now: datetime) -> str:
    created = _time(status.get("created_at"))
    if created is None:
        return ""
    end = _time(status.get("last_updated_at")) if status.get("runtime_status") in TERMINAL else None
    seconds = max(0.0, ((end or now) - created).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


def batch_states(batches: list[dict[str, Any]], started: int) -> list[str]:
    """Each batch's state. A finished batch carries its status; of the others, a retry batch is in the list
    only once dispatched, and planned batches are dispatched in list order, so the first
    `started - retries` planned batches have started (Running) and the rest are Pending."""
    retries = sum(1 for b in batches if b.get("retry_of"))
    planned_started = max(0, started - retries)
    states: list[str] = []
    position = 0
    for batch in batches:
        status = str(batch.get("status") or "Pending")
        if batch.get("retry_of"):
            states.append("Running" if status == "Pending" else status)
            continue
        states.append("Running" if status == "Pending" and position < planned_started else status)
        position += 1
    return states


def _vms_succeeded(batch: dict[str, Any], state: str) -> int:
    """VMs of a finished batch whose recovery plan failed over (a batch with one failed plan still moved
    the others)."""
    if state in ("Pending", "Running"):
        return 0
    plans = batch.get("plans")
    if isinstance(plans, list) and plans:
        return sum(int(p.get("vms") or 0) for p in plans if p.get("state") == "Succeeded")
    return int(batch.get("vms") or 0) if state == "Succeeded" else 0


def _bar(completed: float, total: float, state: str = "") -> ProgressBar:
    """Named colours, so that 16-colour terminals keep done (green), to do (grey) and failed (red) apart."""
    return ProgressBar(
        total=max(total, 1),
        completed=completed,
        width=BAR_WIDTH,
        pulse=state == "Running",
        style="red" if state == "Failed" else "bright_black",
        complete_style="cyan",
        finished_style="green",
        pulse_style="cyan",
    )


def _approval(status: dict[str, Any]) -> Text:
    gate = status.get("approval") or (status.get("custom_status") or {}).get("approval") or {}
    decisions = status.get("approvals") or gate.get("decisions") or []
    line = Text.assemble(("approval: ", "bold"))
    if decisions:
        for n, decision in enumerate(decisions):
            verdict = str(decision.get("decision"))
            line.append(", " if n else "")
            line.append(
                f"{verdict}d" if verdict in ("approve", "reject") else verdict,
                style=_style("Succeeded" if verdict == "approve" else "Failed"),
            )
            line.append(f" by {decision.get('approver')} at {decision.get('at')}")
        if gate.get("waiting"):
            line.append(f"; waiting for {int(gate.get('required') or 0) - len(decisions)} more")
        return line
    if not gate:
        return line.append("—", style="dim")
    if gate.get("required") == 0:
        return line.append("not required")
    if gate.get("waiting"):
        approvers = ", ".join(str(a) for a in gate.get("approvers") or []) or "any approver"
        line.append(f"WAITING for {gate.get('required')} of {approvers}", style="bold yellow")
        if gate.get("expires_at"):
            line.append(f" until {gate['expires_at']} (then: {gate.get('on_timeout')})")
        if gate.get("escalated"):
            line.append(" — escalated", style="bold red")
        ready = gate.get("readiness") or {}
        if ready.get("protected_items") is not None:
            rpo = ready.get("max_rpo_seconds")
            line.append(f"; replication: {ready.get('healthy')}/{ready.get('protected_items')} healthy")
            line.append(f", max RPO {rpo:g} s" if isinstance(rpo, int | float) else "")
        return line
    return line.append("not requested yet", style="dim")


def _steps(status: dict[str, Any]) -> Text | None:
    steps = status.get("steps") or []
    if not steps:
        return None
    line = Text.assemble(("steps: ", "bold"))
    for n, step in enumerate(steps):
        state = str(step.get("status"))
        mark = {"Succeeded": "✓", "Running": "…"}.get(state, f" {state}")
        line.append(" · " if n else "")
        line.append(f"{step.get('name')}{mark}", style=_style(state))
    return line


def render(status: dict[str, Any], now: datetime | None = None) -> RenderableType:
    """The live view of one read of `GET /api/failovers/{id}` (see the module docstring)."""
    now = now or datetime.now(UTC)
    custom = status.get("custom_status") or {}
    output: dict[str, Any] = status["output"] if isinstance(status.get("output"), dict) else {}
    progress = status.get("progress") or custom.get("progress") or {}
    runtime = str(status.get("runtime_status") or "")
    stage = status.get("stage") or custom.get("stage") or runtime.lower()

    header = Text()
    header.append(f"run {status.get('instance_id')}", style="bold")
    header.append(f"  plan {status.get('plan')} ({status.get('mode')})  stage: ")
    header.append(str(stage), style="bold cyan")
    header.append("  ")
    header.append(str(status.get("status") or runtime), style=_style(status.get("status") or runtime))
    elapsed = _elapsed(status, now)
    if elapsed:
        header.append(f"  {elapsed}", style="dim")
    parts: list[RenderableType] = [header, _approval(status)]
    steps = _steps(status)
    if steps is not None:
        parts.append(steps)

    table = Table.grid(padding=(0, 1))
    table.add_column(min_width=22)
    table.add_column(width=BAR_WIDTH)
    table.add_column(justify="right", min_width=9)
    table.add_column()
    sessions = output.get("sessions") or {}
    found = int(progress.get("sessions_found", sessions.get("found", 0)) or 0)
    logged_off = int(progress.get("sessions_logged_off", sessions.get("logged_off", 0)) or 0)
    table.add_row("sessions logged off", _bar(logged_off, found), f"{logged_off}/{found}", "")

    batches = [b for b in status.get("batches") or output.get("batches") or [] if isinstance(b, dict)]
    # A long run's status lists only the batches that matter now (started ones marked Running) and each group's
    # counts (`batch_groups`): the group lines come from those counts, the rows from what is listed.
    groups_counted = status.get("batch_groups") or custom.get("batch_groups") or []
    summaries = {str(g.get("group")): g for g in groups_counted if isinstance(g, dict)}
    started = 0 if summaries else int(progress.get("batches_started", len(batches)) or 0)
    states = batch_states(batches, started)
    vms_total = int(progress.get("vms_total") or sum(int(b.get("vms") or 0) for b in batches if not b.get("retry_of")))
    vms_done = int(progress.get("vms_failed_over", output.get("vms_failed_over", 0)) or 0)
    done = sum(1 for s in states if s not in ("Pending", "Running"))
    listed_total = len(batches)
    if summaries:
        done, listed_total = int(progress.get("batches_done") or 0), int(progress.get("batches_total") or 0)
    table.add_row(
        "VMs failed over", _bar(vms_done, vms_total), f"{vms_done}/{vms_total}", f"batches {done}/{listed_total} done"
    )

    groups: dict[str, list[int]] = {name: [] for name in summaries}
    for n, batch in enumerate(batches):
        groups.setdefault(str(batch.get("group")), []).append(n)
    for group, members in groups.items():
        g_states = [states[n] for n in members]
        g_total = sum(int(batches[n].get("vms") or 0) for n in members if not batches[n].get("retry_of"))
        g_done = min(g_total, sum(_vms_succeeded(batches[n], states[n]) for n in members))
        g_finished = sum(1 for s in g_states if s not in ("Pending", "Running"))
        g_count = len(members)
        if group in summaries:
            counts = summaries[group]
            g_total, g_done = int(counts.get("vms") or 0), int(counts.get("vms_failed_over") or 0)
            g_finished, g_count = int(counts.get("done") or 0), int(counts.get("batches") or 0)
            g_states = (
                g_states + (["Running"] if counts.get("running") else []) + (["Failed"] if counts.get("failed") else [])
            )
        if "Running" in g_states:
            g_state = "Running"
        elif g_finished < g_count:
            g_state = "Pending" if g_finished == 0 else "Running"
        elif all(s == "Succeeded" for s in g_states) or g_done >= g_total:
            g_state = "Succeeded"
        else:
            g_state = "Failed"
        label = Text(f"group {group}", style="bold")
        table.add_row(
            label,
            _bar(g_done, g_total, "Failed" if g_state == "Failed" else ""),
            f"{g_done}/{g_total}",
            Text(f"batches {g_finished}/{g_count} done", style=_style(g_state)),
        )
        if len(batches) > MAX_BATCH_ROWS and g_state not in ("Running", "Failed"):
            continue
        for n in members:
            batch, state = batches[n], states[n]
            vms = int(batch.get("vms") or 0)
            moved = _vms_succeeded(batch, state)
            plans = ", ".join(p["name"] if isinstance(p, dict) else str(p) for p in batch.get("recovery_plans") or [])
            retry = " (retry)" if batch.get("retry_of") else ""
            table.add_row(
                f"  batch {batch.get('index')}{retry}",
                _bar(moved, vms, state),
                f"{moved}/{vms}" if state not in ("Pending", "Running") else f"{vms} VMs",
                Text.assemble((state, _style(state)), f"  {plans}"),
            )
    parts.append(table)

    operator = status.get("operator") or custom.get("operator") or {}
    if operator.get("blocked"):
        names = ", ".join(operator["blocked"])
        parts.append(
            Text(
                f"waiting for an operator: `failover retry|skip {status.get('instance_id')} PLAN` for {names}",
                style="bold yellow",
            )
        )
    cancel = operator.get("cancel")
    if isinstance(cancel, dict):
        parts.append(Text(f"cancel requested by {cancel.get('by')}: {cancel.get('reason')}", style="yellow"))

    errors = [str(e) for e in status.get("errors") or []]
    if errors:
        parts.append(Text(f"errors ({len(errors)})", style="bold red"))
        if len(errors) > MAX_ERRORS:
            parts.append(Text(f"  … {len(errors) - MAX_ERRORS} earlier", style="red"))
        parts.extend(Text(f"  {error}", style="red") for error in errors[-MAX_ERRORS:])
    return Group(*parts)


class LiveView:
    """A live display of a run, redrawn on each `show(status)` and a few times a second (the clock, the
    pulsing bars). Lines written to `out` print above it. Use as a context manager: on exit the last view
    stays on screen."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: dict[str, Any] = {}
        self.out = cast(TextIO, FileProxy(console, console.file))
        self._live = Live(console=console, get_renderable=self._renderable, refresh_per_second=4)

    def _renderable(self) -> RenderableType:
        return render(self.status) if self.status else Text("waiting for the run's status…", style="dim")

    def show(self, status: dict[str, Any]) -> None:
        self.status = status
        self._live.refresh()

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._live.stop()


def live_view(out: TextIO) -> LiveView | None:
    """A live view drawing on `out` when `out` is a terminal; None when it is not (print lines instead)."""
    if not out.isatty():
        return None
    return LiveView(Console(file=out))

"""The run's input and summary: small JSON values the orchestrations pass around (history stays small).

`RunInput` is what a trigger hands the failover orchestration; the summary is the orchestration's
output and the `failover demo --json` contract.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from failover.contracts.run import RunInput
from failover.plan import Plan


def isoformat(ts: datetime) -> str:
    """ISO 8601 UTC with a Z, seconds precision to the millisecond."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def build_run_input(
    plan: Plan,
    *,
    mode: str | None = None,
    trigger: dict[str, Any] | None = None,
    time_scale: float = 1.0,
    requested_by: str | None = None,
    reason: str | None = None,
    restore: dict[str, Any] | None = None,
) -> RunInput:
    """The failover orchestration's input. `time_scale` divides every plan duration (demo, tests)."""
    if time_scale <= 0:
        raise ValueError("time_scale must be > 0")
    return RunInput(
        plan=plan,
        mode=mode or plan.asr.mode,
        triggers=[trigger] if trigger else [],
        requested_by=requested_by,
        reason=reason,
        restore=restore or {},
        time_scale=time_scale,
    )


def rto_seconds(started_at: str, finished_at: str) -> float:
    return round((parse_iso(finished_at) - parse_iso(started_at)).total_seconds(), 3)


def overall_status(batches: list[dict[str, Any]], errors: list[Any]) -> str:
    """Completed when every batch succeeded and nothing was reported, else CompletedWithErrors."""
    if not errors and all(b.get("status") == "Succeeded" for b in batches):
        return "Completed"
    return "CompletedWithErrors"

"""The run's input and summary: small JSON values the orchestrations pass around (history stays small).

`RunInput` is what a trigger hands the failover orchestration; the summary is the orchestration's
output and the `failover demo --json` contract.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

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
    requested_by_claim: str | None = None,
    reason: str | None = None,
    restore: dict[str, Any] | None = None,
    supersedes: str | None = None,
    stale_claims: list[str] | None = None,
    cleanup_only: bool = False,
) -> RunInput:
    """The failover orchestration's input. `time_scale` divides every plan duration (demo, tests)."""
    if time_scale <= 0:
        raise ValueError("time_scale must be > 0")
    return RunInput(
        plan=plan,
        mode=mode or plan.asr.mode,
        triggers=[trigger] if trigger else [],
        requested_by=requested_by,
        requested_by_claim=requested_by_claim,
        reason=reason,
        restore=restore or {},
        time_scale=time_scale,
        supersedes=supersedes,
        stale_claims=stale_claims or [],
        cleanup_only=cleanup_only,
    )


RunKind = Literal["failover", "drill", "failback"]
RUN_ID = re.compile(
    r"^(?P<kind>failover|drill|failback)-(?P<plan>[a-z0-9][a-z0-9-]*)-(?P<at>\d{8}T\d{6}Z)-(?P<suffix>[0-9a-f]{4})$"
)


def run_kind(mode: str) -> RunKind:
    """What a run does to production: a failover (planned, unplanned), a drill (test) or a failback."""
    return "drill" if mode == "test" else "failback" if mode == "failback" else "failover"


def new_run_id(plan: str, mode: str, at: datetime, suffix: str | None = None) -> str:
    """A run's instance id: unique, sortable by start time within a plan and kind, readable, e.g.
    `failover-demo-20261202T021500Z-3f9a`. The suffix is random (two runs of one second differ)."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{run_kind(mode)}-{plan}-{stamp}-{suffix or secrets.token_hex(2)}"


def rto_verdict(
    status: str, planned: set[str], plans: list[dict[str, Any]], achieved: float, target: float
) -> tuple[bool | None, str | None]:
    """Was the recovery time objective met? Only a failover that completed can meet it: every recovery plan it
    set out to fail over did (a skipped or failed plan, a cancel, a rejection, 0 VMs: not met, with why)."""
    if not target:
        return None, "the plan has no rto_target"
    succeeded = {p["name"] for p in plans if p.get("state") == "Succeeded"}
    if status not in ("Completed", "CompletedWithErrors"):
        return False, f"the run ended {status}: its failover did not complete"
    if not planned:
        return False, "no recovery plan was failed over"
    if planned - succeeded:
        return False, f"{len(planned - succeeded)} of {len(planned)} recovery plans did not fail over"
    if achieved > target:
        return False, f"the failover took {achieved:.0f}s, over the target of {target:.0f}s"
    return True, None


def rto_seconds(started_at: str, finished_at: str) -> float:
    return round((parse_iso(finished_at) - parse_iso(started_at)).total_seconds(), 3)


def overall_status(batches: list[dict[str, Any]], errors: list[Any]) -> str:
    """Completed when every batch succeeded and nothing was reported, else CompletedWithErrors."""
    if not errors and all(b.get("status") == "Succeeded" for b in batches):
        return "Completed"
    return "CompletedWithErrors"

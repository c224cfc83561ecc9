"""Fixtures for the fault suite: a local stack whose simulated Azure misbehaves.

`RELIABILITY_FULL=1` raises the counts (more seeds, more kill points, a bigger storm); the default
counts keep the suite fast enough for `make test`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from local.cli import approve_as, find_approval_link
from local.stack import LocalStack
from simulator import EstateConfig
from simulator.faults import FaultConfig, RouteFaults
from tests.conftest import finish, post_alert, teams_messages, wait_for, wait_waiting

FULL = os.environ.get("RELIABILITY_FULL") == "1"


@pytest.fixture
def fault_stack(make_stack: Callable[..., LocalStack]) -> Callable[..., LocalStack]:
    """`fault_stack(rate=0.2, seed=1, vms=60, sessions=30, **plan)`: `make_stack` with a simulated Azure whose
    ARM routes fail or throttle `rate` of the time (RouteFaults.transient)."""

    def make(rate: float = 0.0, seed: int = 1, **options: Any) -> LocalStack:
        config = EstateConfig(faults=FaultConfig(arm=RouteFaults.transient(rate), seed=seed))
        return make_stack(estate_config=config, **options)

    return make


def start_approved(stack: LocalStack) -> str:
    """Post the demo alert, approve the run as the plan's first approver; returns the instance id.

    The card is looked for among the messages posted after the alert: after a crash the instance id is
    reused, and the card of the run that died (its link already used) may still be the latest one."""
    before = len(teams_messages(stack))
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    instance_id: str = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    link = wait_for(lambda: find_approval_link(teams_messages(stack)[before:], instance_id, "Approve"))
    decision = approve_as(stack.plan.approval.approvers[0], link)
    assert decision.status_code == 200, decision.text
    return instance_id


def assert_converged(stack: LocalStack, summary: dict[str, Any]) -> None:
    """What a run under trouble must still guarantee: every plan failed over by exactly one failover call,
    every session logged off or reported, every VM active in the recovery region."""
    snapshot = stack.estate.snapshot()
    calls = {p["name"]: p["failover_calls"] for p in snapshot["recovery_plans"]}
    assert set(calls.values()) == {1}, f"failover calls per recovery plan: {calls}"
    assert {p["active_location"] for p in snapshot["recovery_plans"]} == {"Recovery"}
    sessions = summary["sessions"]
    reported = [e for e in summary["errors"] if "was not logged off" in e]
    assert sessions["logged_off"] + len(reported) == sessions["found"], (sessions, reported)
    assert snapshot["sessions_remaining"] == len(reported)


__all__ = ["FULL", "assert_converged", "finish", "start_approved"]

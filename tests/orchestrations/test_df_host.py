"""The Azure host's path: the failover orchestration replayed by azure-functions-durable's own executor.

Histories are built the way the SDK's tests build them (OrchestratorStarted / ExecutionStarted /
TaskScheduled / TaskCompleted / TimerCreated / EventRaised), answering each new action, so the same
workflow code is shown to run on both hosts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext

from failover import contracts
from failover.contracts import dumps, unwrap
from failover.contracts.asr import ReplicationHealthResult, ResolveRecoveryPlansResult
from failover.plan import load_plan
from failover.run import build_run_input
from local.stack import DEMO_PLAN
from orchestrations.failover import failover_orchestrator

T0 = datetime(2026, 11, 23, 2, 15, tzinfo=UTC)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _leaves(group: Any) -> list[dict[str, Any]]:
    """Flatten WHEN_ALL / WHEN_ANY compound actions into their scheduled actions, in order."""
    items = group if isinstance(group, list) else [group]
    leaves: list[dict[str, Any]] = []
    for item in items:
        if item.get("compoundActions"):
            leaves.extend(_leaves(item["compoundActions"]))
        else:
            leaves.append(item)
    return leaves


def drive(
    run_input: dict[str, Any],
    activity: Callable[[str, Any], Any],
    events: Callable[[str], Any],
    max_episodes: int = 60,
) -> tuple[dict[str, Any], list[str]]:
    """Replay the orchestration episode by episode, answering activities and raising events."""
    history: list[dict[str, Any]] = [
        {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": _ts(T0)},
        {
            "EventType": 0,
            "EventId": -1,
            "IsPlayed": False,
            "Timestamp": _ts(T0),
            "Name": "failover_orchestrator",
            "Input": contracts.dumps(run_input),
            "Version": "",
        },
    ]
    seen = 0
    next_id = 0
    called: list[str] = []
    now = T0
    for _ in range(max_episodes):
        context = {
            "history": history,
            "instanceId": "failover-demo",
            "isReplaying": False,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "input": contracts.dumps(run_input),
        }
        result = json.loads(
            df.Orchestrator(failover_orchestrator).handle(DurableOrchestrationContext.from_json(json.dumps(context)))
        )
        if result.get("error"):
            raise AssertionError(result["error"])
        if result["isDone"]:
            return result, called
        scheduled = [leaf for group in result["actions"] for leaf in _leaves(group)]
        new = scheduled[seen:]
        seen = len(scheduled)
        now += timedelta(seconds=1)
        history.append({"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": _ts(now)})
        # Raise control events before approvals, so the control channel is exercised in replay.
        for action in sorted(new, key=lambda a: a.get("externalEventName") != "control"):
            kind = action["actionType"]
            if kind in (0, 1):
                name = action["functionName"]
                called.append(name)
                history.append(
                    {"EventType": 4, "EventId": next_id, "IsPlayed": False, "Timestamp": _ts(now), "Name": name}
                )
                history.append(
                    {
                        "EventType": 5,
                        "EventId": -1,
                        "IsPlayed": False,
                        "Timestamp": _ts(now),
                        "TaskScheduledId": next_id,
                        "Result": dumps(activity(name, json.loads(action["input"]))),  # contracts in df's envelope
                    }
                )
                next_id += 1
            elif kind == 5:
                history.append(
                    {
                        "EventType": 10,
                        "EventId": next_id,
                        "IsPlayed": False,
                        "Timestamp": _ts(now),
                        "FireAt": action["fireAt"],
                    }
                )
                next_id += 1
            elif kind == 6:
                history.append(
                    {
                        "EventType": 15,
                        "EventId": -1,
                        "IsPlayed": False,
                        "Timestamp": _ts(now),
                        "Name": action["externalEventName"],
                        "Input": json.dumps(events(action["externalEventName"])),
                    }
                )
    stage = (result.get("customStatus") or {}).get("stage")
    raise AssertionError(f"orchestration did not finish: stage {stage}, called {called}")


class TestDurableFunctionsReplay:
    def test_rejected_run_touches_nothing(self) -> None:
        """Resolve plans → card → reject event → follow-up → Rejected; no AVD, ASR or DNS call."""
        plan = load_plan(DEMO_PLAN)
        run_input = build_run_input(plan, trigger={"title": "West Europe", "regions": ["westeurope"]})
        nonce: dict[str, str] = {}

        def activity(name: str, payload: Any) -> Any:
            if name == "asr_resolve_recovery_plans":
                return ResolveRecoveryPlansResult.model_validate(
                    {
                        "groups": [
                            {
                                "name": g["name"],
                                "recovery_plans": [{"name": f"rp-{g['name']}", "vms": 10, "failed_over": False}],
                            }
                            for g in unwrap(payload)["groups"]
                        ],
                        "unmatched": [],
                    }
                )
            if name == "asr_replication_health":
                return ReplicationHealthResult(
                    protected_items=30,
                    healthy=30,
                    failed_over=0,
                    unhealthy_total=0,
                    direction="PrimaryToRecovery",
                    checked_at=_ts(T0),
                )
            if name == "teams_post_approval_card":
                nonce["value"] = unwrap(payload)["nonce"]  # the card input, in df's custom-object envelope
                return {"posted": True}
            return {"posted": True, "published": 1}

        def events(name: str) -> Any:
            if name == "control":  # a second alert attaches to the run while it waits
                return {"action": "trigger", "trigger": {"alert_id": "second-alert", "title": "West Europe again"}}
            assert name == "approval"
            return {
                "decision": "reject",
                "approver": plan.approval.approvers[1],
                "nonce": nonce["value"],
                "comment": "false alarm",
            }

        result, called = drive(run_input, activity, events)
        output = result["output"]
        if isinstance(output, str):
            output = json.loads(output)
        assert output["status"] == "Rejected"
        assert output["approvals"][0]["approver"] == plan.approval.approvers[1]
        assert [t.get("alert_id") for t in output["triggers"]] == [None, "second-alert"]
        assert [b for b in output["batches"]] == []
        assert not [n for n in called if n.startswith(("avd_", "asr_start", "dns_"))]
        assert called[:4] == [
            "publish_event",
            "asr_resolve_recovery_plans",
            "asr_replication_health",
            "teams_post_approval_card",
        ]
        assert "teams_post_decision" in called

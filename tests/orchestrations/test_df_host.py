"""The Azure host's path with scripted activities: the failover orchestration replayed by azure-functions-durable's
own executor (through `df_driver`), answering activities with stand-ins instead of the simulator, so a branch can
be driven without an estate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from failover.contracts import unwrap
from failover.contracts.asr import ReplicationHealthResult, ResolveRecoveryPlansResult
from failover.contracts.avd import SessionCountResult
from failover.contracts.capacity import CapacityResult, CapacityRow
from failover.plan import load_plan
from failover.run import build_run_input
from local.stack import DEMO_PLAN
from tests.orchestrations.df_driver import Driver, Waiting

CHECKED_AT = datetime(2026, 11, 23, 2, 15, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TestDurableFunctionsReplay:
    def test_rejected_run_touches_nothing(self) -> None:
        """Resolve plans → card → reject event → follow-up → Rejected; no AVD, ASR or DNS call."""
        plan = load_plan(DEMO_PLAN)
        run_input = build_run_input(plan, trigger={"title": "West Europe", "regions": ["westeurope"]})
        nonce: dict[str, str] = {}

        def resolve(payload: Any) -> Any:
            return ResolveRecoveryPlansResult.model_validate(
                {
                    "groups": [
                        {
                            "name": g["name"],
                            "recovery_plans": [{"name": f"rp-{g['name']}", "vms": 10, "failed_over": False}],
                        }
                        for g in unwrap(payload.plain())["groups"]
                    ],
                    "unmatched": [],
                }
            )

        def health(payload: Any) -> Any:
            return ReplicationHealthResult(
                protected_items=30,
                healthy=30,
                failed_over=0,
                unhealthy_total=0,
                direction="PrimaryToRecovery",
                checked_at=CHECKED_AT,
            )

        def card(payload: Any) -> Any:
            nonce["value"] = payload.nonce  # the card input, rebuilt from df's custom-object envelope
            return {"posted": True}

        stand_ins: dict[str, Any] = {
            "asr_resolve_recovery_plans": resolve,
            "asr_replication_health": health,
            "teams_post_approval_card": card,
            "publish_event": lambda payload: {"posted": True, "published": 1},
            "teams_post_decision": lambda payload: {"posted": True, "published": 1},
            "avd_count_sessions": lambda payload: SessionCountResult(host_pool=payload.host_pool, sessions=30),
            "capacity_check": lambda payload: CapacityResult(region=payload.recovery_region, vms=30, rows=[]),
        }
        raised: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if "approval" not in waiting.events or "value" not in nonce or raised:
                return []
            raised.append("done")
            return [  # a second alert attaches to the run while it waits, then the rejection
                (
                    "control",
                    {"action": "trigger", "trigger": {"alert_id": "second-alert", "title": "West Europe again"}},
                ),
                (
                    "approval",
                    {
                        "decision": "reject",
                        "approver": plan.approval.approvers[1],
                        "nonce": nonce["value"],
                        "comment": "false alarm",
                    },
                ),
            ]

        driver = Driver(script, timeout=60, activity_functions=stand_ins)
        root = driver.run("failover_orchestrator", "failover-demo", run_input)
        output = root.output
        called = [c.name for c in driver.calls]
        assert output["status"] == "Rejected"
        assert output["approvals"][0]["approver"] == plan.approval.approvers[1]
        assert [t.get("alert_id") for t in output["triggers"]] == [None, "second-alert"]
        assert [b for b in output["batches"]] == []
        assert [n for n in called if n.startswith(("avd_", "asr_start", "dns_"))] == ["avd_count_sessions"]  # a read
        # RunStarted goes out beside the recovery plans' read (one episode): in either order
        assert sorted(called[:2]) == ["asr_resolve_recovery_plans", "publish_event"]
        assert called[2:6] == [
            "capacity_check",  # a read: the recovery region's quotas, before the card
            "asr_replication_health",
            "avd_count_sessions",
            "teams_post_approval_card",
        ]
        assert "teams_post_decision" in called

    def test_capacity_block_refuses_before_the_card(self) -> None:
        """On azure-functions-durable's executor too: a shortfall under `capacity: block` ends the run Failed
        before the approval card, before any AVD or ASR write."""
        plan = load_plan(DEMO_PLAN).model_copy(update={"capacity": "block"})
        run_input = build_run_input(plan, trigger={"title": "West Europe", "regions": ["westeurope"]})
        short = CapacityRow(quota="cores", name="Total Regional vCPUs", needed=120, current=90, limit=100,
                            available=10, shortfall=110)  # fmt: skip

        def resolve(payload: Any) -> Any:
            groups = unwrap(payload.plain())["groups"]
            found = [
                {"name": g["name"], "recovery_plans": [{"name": f"rp-{g['name']}", "vms": 10, "failed_over": False}]}
                for g in groups
            ]
            return ResolveRecoveryPlansResult.model_validate({"groups": found, "unmatched": []})

        stand_ins: dict[str, Any] = {
            "asr_resolve_recovery_plans": resolve,
            "publish_event": lambda payload: {"posted": True, "published": 1},
            "capacity_check": lambda payload: CapacityResult(region=payload.recovery_region, vms=30, rows=[short]),
        }
        driver = Driver(lambda waiting: [], timeout=60, activity_functions=stand_ins)
        output = driver.run("failover_orchestrator", "failover-demo", run_input).output
        called = [c.name for c in driver.calls]
        assert output["status"] == "Failed" and (output["capacity"] or {}).get("short") is True, output["errors"]
        assert any("capacity policy is block" in e and "short by 110" in e for e in output["errors"])
        assert sorted(called[:2]) == ["asr_resolve_recovery_plans", "publish_event"]  # RunStarted beside the read
        assert called[2:] == ["capacity_check", "publish_event"]

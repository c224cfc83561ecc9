"""The Azure host: function_app.py registers every route, orchestrator and activity with its trigger."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import pytest

import activities
import orchestrations


@pytest.fixture
def functions(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("FAILOVER_APPROVAL_SIGNING_KEY", "test-key")
    sys.modules.pop("function_app", None)
    app = importlib.import_module("function_app").app
    return {f.get_function_name(): f for f in app.get_functions()}


def bindings(function: Any) -> dict[str, Any]:
    return {b.type: b for b in function.get_bindings()}


class TestRegistration:
    def test_every_orchestrator(self, functions: dict[str, Any]) -> None:
        for name in orchestrations.ALL:
            assert bindings(functions[name])["orchestrationTrigger"].name == "context"

    def test_every_activity(self, functions: dict[str, Any]) -> None:
        for name in activities.ALL:
            assert bindings(functions[name])["activityTrigger"].name == "payload"

    def test_routes(self, functions: dict[str, Any]) -> None:
        """The HTTP contract of issue 4, written out (not derived from the route table it checks)."""
        for name, (method, route, auth) in CONTRACT.items():
            found = bindings(functions[name])
            trigger = found["httpTrigger"]
            assert trigger.route == route, name
            assert [str(getattr(m, "value", m)) for m in trigger.methods] == [method], name
            assert str(getattr(trigger.auth_level, "name", trigger.auth_level)).upper() == auth, name
            assert found["durableClient"].name == "client", name

    def test_drill_timer(self, functions: dict[str, Any]) -> None:
        found = bindings(functions["drill_timer"])
        assert found["timerTrigger"].schedule == "%FAILOVER_DRILL_SCHEDULE%"
        assert found["durableClient"].name == "client"
        readiness = bindings(functions["readiness_timer"])
        assert readiness["timerTrigger"].schedule == "0 */30 * * * *"

    def test_nothing_else(self, functions: dict[str, Any]) -> None:
        assert set(functions) == {
            *orchestrations.ALL,
            *orchestrations.ENTITIES,
            *activities.ALL,
            *CONTRACT,
            "drill_timer",
            "readiness_timer",
        }

    def test_plan_claim_entity(self, functions: dict[str, Any]) -> None:
        """One active run per plan is the `plan_claim` entity (failover.claims): registered as Azure loads it."""
        assert bindings(functions["plan_claim"])["entityTrigger"].entity_name == "plan_claim"


CONTRACT = {
    "health": ("GET", "health", "ANONYMOUS"),
    "alerts": ("POST", "alerts", "FUNCTION"),
    "alerts_entra": ("POST", "alerts/entra", "ANONYMOUS"),
    "events": ("POST", "events", "FUNCTION"),
    "events_validation": ("OPTIONS", "events", "FUNCTION"),
    "plans_list": ("GET", "plans", "FUNCTION"),
    "plan_get": ("GET", "plans/{name}", "FUNCTION"),
    "plan_preview": ("GET", "plans/{name}/preview", "FUNCTION"),
    "plan_readiness": ("GET", "plans/{name}/readiness", "FUNCTION"),
    "failover_start": ("POST", "failovers", "FUNCTION"),
    "failovers_list": ("GET", "failovers", "FUNCTION"),
    "drill_start": ("POST", "drills", "FUNCTION"),
    "backup_test_start": ("POST", "backup-tests", "FUNCTION"),
    "evacuation_start": ("POST", "evacuations", "FUNCTION"),
    "evacuation_get": ("GET", "evacuations/{instance_id}", "FUNCTION"),
    "evacuation_cancel": ("POST", "evacuations/{instance_id}/cancel", "FUNCTION"),
    "evacuation_report": ("GET", "evacuations/{instance_id}/report", "FUNCTION"),
    "drill_cleanup": ("POST", "drills/cleanup", "FUNCTION"),
    "failback_start": ("POST", "failbacks", "FUNCTION"),
    "failover_status": ("GET", "failovers/{instance_id}", "FUNCTION"),
    "failover_cancel": ("POST", "failovers/{instance_id}/cancel", "FUNCTION"),
    "failover_plan_retry": ("POST", "failovers/{instance_id}/plans/{recovery_plan}/retry", "FUNCTION"),
    "failover_plan_skip": ("POST", "failovers/{instance_id}/plans/{recovery_plan}/skip", "FUNCTION"),
    "failover_plan_force": ("POST", "failovers/{instance_id}/plans/{recovery_plan}/force", "FUNCTION"),
    "failover_approve": ("POST", "failovers/{instance_id}/approvals", "FUNCTION"),
    "failover_report": ("GET", "failovers/{instance_id}/report", "FUNCTION"),
    "failover_callback": ("POST", "failovers/{instance_id}/callbacks/{step}", "ANONYMOUS"),
    "approval_page": ("GET", "approvals/{instance_id}", "ANONYMOUS"),
    "approval_decision": ("POST", "approvals/{instance_id}", "ANONYMOUS"),
}

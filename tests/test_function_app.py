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

    @pytest.mark.parametrize(
        ("name", "route", "methods", "auth"),
        [
            ("alerts", "alerts", ["POST"], "FUNCTION"),
            ("failover_status", "failovers/{instance_id}", ["GET"], "FUNCTION"),
            ("approval_page", "approvals/{instance_id}", ["GET"], "ANONYMOUS"),
            ("approval_decision", "approvals/{instance_id}", ["POST"], "ANONYMOUS"),
        ],
    )
    def test_routes(self, functions: dict[str, Any], name: str, route: str, methods: list[str], auth: str) -> None:
        found = bindings(functions[name])
        trigger = found["httpTrigger"]
        assert trigger.route == route
        assert [str(getattr(m, "value", m)) for m in trigger.methods] == methods
        assert str(getattr(trigger.auth_level, "name", trigger.auth_level)).upper() == auth
        assert found["durableClient"].name == "client"

    def test_nothing_else(self, functions: dict[str, Any]) -> None:
        expected = {
            *orchestrations.ALL,
            *activities.ALL,
            "alerts",
            "failover_status",
            "approval_page",
            "approval_decision",
        }
        assert set(functions) == expected

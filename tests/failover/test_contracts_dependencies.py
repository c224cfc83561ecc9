"""Contracts of the runbook's other Azure steps (failover.contracts.dependencies): required ids, strict switches,
and the codec round trip."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from failover import contracts
from failover.contracts.dependencies import (
    SqlFailoverStartInput,
    SqlFailoverStartResult,
    StorageFailoverStartResult,
    VmsInput,
    VmState,
    VmStatesResult,
    WebhookInput,
)

SQL = {"subscription_id": "s", "resource_group": "rg-data-neu", "server": "sql-neu", "failover_group": "fg"}


def test_missing_or_empty_ids_are_named() -> None:
    with pytest.raises(ValidationError, match="failover_group"):
        SqlFailoverStartInput(subscription_id="s", resource_group="rg", server="sql-neu")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="server"):
        SqlFailoverStartInput(**{**SQL, "server": ""})
    with pytest.raises(ValidationError, match="vms"):
        VmsInput(subscription_id="s", resource_group="rg", vms=[])
    with pytest.raises(ValidationError, match="vms"):
        VmsInput(subscription_id="s", resource_group="rg", vms=["vm-1", ""])
    with pytest.raises(ValidationError, match="instance_id"):
        WebhookInput(plan="demo", step="hyperv", webhook="hyperv-replica")  # type: ignore[call-arg]


def test_switches_are_strict() -> None:
    """A switch is true or false: "yes" or 1 is refused, not read as true."""
    for value in ("yes", "true", 1):
        with pytest.raises(ValidationError, match="allow_data_loss"):
            SqlFailoverStartInput(**SQL, allow_data_loss=value)  # type: ignore[arg-type]
    assert SqlFailoverStartInput(**SQL).allow_data_loss is False


@pytest.mark.parametrize(
    "model",
    [
        SqlFailoverStartInput(**SQL, allow_data_loss=True, instance_id="run-1", plan="demo"),
        SqlFailoverStartResult(action="skipped", primary_before="sql-neu", reason="already primary"),
        StorageFailoverStartResult(
            action="started", primary_location_before="westeurope", data_loss_window_seconds=12.5, operation="u"
        ),
        VmStatesResult(running=["vm-0"], not_running=[VmState(name="vm-1", power_state="deallocated", error="x")]),
        WebhookInput(instance_id="run-1", plan="demo", step="s", webhook="w", body={"site": {"name": "azl", "n": 1}}),
    ],
)
def test_round_trip(model: contracts.Contract) -> None:
    assert contracts.loads(contracts.dumps(model)) == model
    assert contracts.unwrap(contracts.loads(contracts.dumps(model.plain()))) == model.plain()

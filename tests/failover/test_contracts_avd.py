"""The AVD activities' contracts (failover/contracts/avd.py): required ids named, the codec round trip."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from failover import contracts
from failover.contracts.avd import (
    HostPoolDrainInput,
    NewSessionsInput,
    NewSessionsResult,
    SessionFailure,
    SessionHostInput,
    SessionLogoffResult,
    SessionMessageInput,
)

POOL = {"instance_id": "run-1", "plan": "demo", "subscription_id": "s", "resource_group": "rg-avd", "host_pool": "hp"}


def test_missing_or_empty_ids_are_named() -> None:
    with pytest.raises(ValidationError, match="host_pool"):
        HostPoolDrainInput.model_validate({k: v for k, v in POOL.items() if k != "host_pool"})
    with pytest.raises(ValidationError, match="session_host"):
        SessionHostInput(**POOL, session_host="")
    with pytest.raises(ValidationError, match="title"):
        SessionMessageInput(**POOL, session_host="sh-1", title="", body="b")
    with pytest.raises(ValidationError, match="concurrency"):
        HostPoolDrainInput(**POOL, concurrency=0)


def test_allow_is_a_real_boolean() -> None:
    """`allow` "false" (a string) must not open a pool: only true or false are accepted."""
    with pytest.raises(ValidationError, match="allow"):
        NewSessionsInput.model_validate({**POOL, "allow": "false"})
    assert NewSessionsInput(**POOL).allow is True
    assert NewSessionsInput(**POOL).session_hosts is None


@pytest.mark.parametrize(
    "model",
    [
        HostPoolDrainInput(**POOL, concurrency=4),
        SessionMessageInput(**POOL, session_host="sh-1", title="t", body="b"),
        NewSessionsInput(**POOL, allow=False, session_hosts=["vm-avd-neu-0"]),
        NewSessionsResult(host_pool="hp", session_hosts=2, changed=1, changed_hosts=["sh-1"]),
        SessionLogoffResult(
            session_host="sh-1",
            logged_off=3,
            failed=[SessionFailure(session_host="sh-1", session_id="7", user="a@contoso.com", error="busy")],
        ),
    ],
)
def test_round_trip(model: contracts.Contract) -> None:
    assert contracts.loads(contracts.dumps(model)) == model

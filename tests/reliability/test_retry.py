"""The retry layers in isolation: what call_arm repeats and what it never repeats; how the gate paces."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from failover.clients import ClientFactory
from failover.retry import ThrottleGate, ThrottleLanes, call_arm
from failover.settings import Settings


class _Response:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}
        self.reason = "x"

    def text(self) -> str:
        return ""


def _error(status: int, retry_after: str | None = None) -> HttpResponseError:
    error = HttpResponseError(message=f"HTTP {status}")
    error.status_code = status
    error.response = _Response(status, {"Retry-After": retry_after} if retry_after else {})  # type: ignore[assignment]
    return error


def _flaky(*errors: BaseException) -> Any:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    call.calls = calls  # type: ignore[attr-defined]
    return call


def test_throttled_and_unsent_calls_are_retried_whatever_the_method() -> None:
    call = _flaky(_error(429), _error(429, "0.01"), ServiceRequestError("refused"))
    assert call_arm(call, idempotent=False, time_scale=1000) == "done"
    assert len(call.calls) == 4


def test_lost_answer_is_repeated_only_for_idempotent_calls() -> None:
    post = _flaky(ServiceResponseError("reset after send"))
    with pytest.raises(ServiceResponseError):
        call_arm(post, idempotent=False, time_scale=1000)
    assert len(post.calls) == 1  # a failover POST whose answer was lost is not sent again
    delete = _flaky(ServiceResponseError("reset after send"), _error(500))
    assert call_arm(delete, idempotent=True, time_scale=1000) == "done"
    assert len(delete.calls) == 3


def test_retries_are_bounded() -> None:
    always = _flaky(*[_error(429)] * 20)
    with pytest.raises(HttpResponseError):
        call_arm(always, idempotent=True, attempts=4, time_scale=1000)
    assert len(always.calls) == 4


def test_client_errors_are_not_retried() -> None:
    refused = _flaky(_error(409))
    with pytest.raises(HttpResponseError):
        call_arm(refused, idempotent=True, time_scale=1000)
    assert len(refused.calls) == 1


def test_lanes_pace_after_a_429_and_release_when_tokens_return() -> None:
    lanes = ThrottleLanes()
    key = ("https://arm/sub", "deletes")
    lanes.wait_for_slot(key)  # unknown lane: no wait
    lanes.learn(key, 429, {"Retry-After": "0.02"})
    started = time.monotonic()
    for _ in range(5):
        lanes.wait_for_slot(key)
    assert time.monotonic() - started >= 0.02 + 4 * 0.02 * 0.9  # first slot after Retry-After, then paced
    lanes.learn(key, 200, {"x-ms-ratelimit-remaining-subscription-deletes": "150"})
    started = time.monotonic()
    lanes.wait_for_slot(key)
    assert time.monotonic() - started < 0.2  # released (the slot queue is drained by then)
    assert lanes.stats()["https://arm/sub/deletes"]["throttled"] == 1


def test_each_client_has_its_own_gate_sharing_the_lanes() -> None:
    """A policy's `next` belongs to one pipeline: sharing one instance between clients sent requests down
    another client's pipeline (without its authentication)."""
    factory = ClientFactory(Settings(credential="simulator", arm_endpoint="https://127.0.0.1:1"))
    first = factory.dns("sub-a")._client._pipeline._impl_policies
    second = factory.site_recovery("sub-a")._client._pipeline._impl_policies
    gates = [p for p in first + second if isinstance(p, ThrottleGate)]
    assert len(gates) == 2 and gates[0] is not gates[1] and gates[0].lanes is gates[1].lanes

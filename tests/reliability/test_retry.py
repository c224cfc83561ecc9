"""The retry layers in isolation: what call_arm repeats and what it never repeats; how the gate paces."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from failover.clients import ClientFactory
from failover.retry import ThrottleGate, ThrottleLanes, call_arm
from failover.settings import Settings


class _Request:
    def __init__(self, method: str) -> None:
        self.method = method


class _Response:
    def __init__(self, status: int, headers: dict[str, str] | None = None, method: str = "POST") -> None:
        self.status_code = status
        self.headers = headers or {}
        self.reason = "x"
        self.request = _Request(method)

    def text(self) -> str:
        return ""


def _error(status: int, retry_after: str | None = None, method: str = "POST") -> HttpResponseError:
    error = HttpResponseError(message=f"HTTP {status}")
    error.status_code = status
    headers = {"Retry-After": retry_after} if retry_after else {}
    error.response = _Response(status, headers, method)  # type: ignore[assignment]
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
    call = _flaky(_error(429), _error(429), ServiceRequestError("refused"))
    assert call_arm(call, idempotent=False, time_scale=1000) == "done"
    assert len(call.calls) == 4


def test_what_azure_core_already_retried_is_not_retried_again() -> None:
    """A 429 with Retry-After (any method), a GET's 503, a POST's 500: azure-core's RetryPolicy retried each up to
    its retry_total before raising; retrying here multiplied the attempts of one call (4 x 6 x 6)."""
    for error in (
        _error(429, "0.01"),
        _error(503, method="GET"),
        _error(500, method="POST"),
        _error(429, method="PUT"),
    ):
        call = _flaky(error)
        with pytest.raises(HttpResponseError):
            call_arm(call, idempotent=True, time_scale=1000)
        assert len(call.calls) == 1, error.status_code
    bare = _flaky(_error(429, method="POST"), _error(502, method="POST"))  # azure-core left these to us
    assert call_arm(bare, idempotent=True, time_scale=1000) == "done" and len(bare.calls) == 3


def test_lost_answer_is_repeated_only_for_idempotent_calls() -> None:
    post = _flaky(ServiceResponseError("reset after send"))
    with pytest.raises(ServiceResponseError):
        call_arm(post, idempotent=False, time_scale=1000)
    assert len(post.calls) == 1  # a failover POST whose answer was lost is not sent again
    action = _flaky(ServiceResponseError("reset after send"), _error(502))  # an idempotent POST action
    assert call_arm(action, idempotent=True, time_scale=1000) == "done"
    assert len(action.calls) == 3


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

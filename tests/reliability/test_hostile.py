"""Hostile input: fuzzed payloads for the parsers, and broken bodies for every POST route.

Every answer is a 4xx with the JSON error envelope, nothing starts a run, nothing answers 5xx.
(schemathesis fuzzes every route against docs/openapi.yaml in tests/e2e/test_openapi.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failover.alerts import AlertError, parse_alert
from failover.events import parse_event_delivery, subscription_validation_code
from tests.conftest import DEMO_ALERT

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)
SAMPLE = json.loads(DEMO_ALERT.read_text())


def _mutations() -> st.SearchStrategy[Any]:
    """The real alert with one field somewhere replaced by arbitrary JSON (closer to real mistakes)."""

    def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        found = [prefix]
        if isinstance(obj, dict):
            for key, value in obj.items():
                found += paths(value, (*prefix, key))
        elif isinstance(obj, list):
            for index, value in enumerate(obj):
                found += paths(value, (*prefix, index))
        return found

    def replace(path: tuple[Any, ...], value: Any) -> Any:
        if not path:
            return value
        copy = json.loads(json.dumps(SAMPLE))
        target = copy
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        return copy

    return st.builds(replace, st.sampled_from(paths(SAMPLE)), JSON)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, _mutations()))
def test_alert_parser_only_raises_alert_error(payload: Any) -> None:
    try:
        alert = parse_alert(payload)
    except AlertError as err:
        assert err.field and err.message  # names the field at fault
    else:
        assert alert.alert_id


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, st.lists(JSON, max_size=3)))
def test_event_grid_parser_only_raises_alert_error(body: Any) -> None:
    try:
        subscription_validation_code(body)
        parse_event_delivery(body)
    except AlertError as err:
        assert err.field


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_BODIES = {
    "truncated": json.dumps(SAMPLE)[:-40],
    "not json": "schemaId=azureMonitorCommonAlertSchema",
    "wrong types": json.dumps({"schemaId": 7, "data": ["essentials"]}),
    "deep nesting": _nested(50_000),
    "deep object": '{"data":' * 5_000 + "1" + "}" * 5_000,
    "huge number": '{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": 1e999999}}',
    "empty": "",
    "null": "null",
    "invalid utf-8": b"\xff\xfe{".decode("latin-1"),
}
ROUTES = ["/api/alerts", "/api/events", "/api/failovers", "/api/drills", "/api/failbacks"]


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Any:
    from local.stack import LocalStack
    from simulator import EstateConfig

    started = LocalStack(vms=10, sessions=2, time_scale=600.0, estate_config=EstateConfig()).start()
    request.addfinalizer(started.stop)
    return started


@pytest.mark.parametrize("route", ROUTES)
def test_hostile_bodies_get_4xx_and_start_nothing(stack: Any, route: str) -> None:
    for name, body in HOSTILE_BODIES.items():
        answer = stack.http.post(
            f"{stack.api_url}{route}",
            data=body.encode("latin-1") if name == "invalid utf-8" else body.encode(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert 400 <= answer.status_code < 500, (route, name, answer.status_code, answer.text[:200])
        assert answer.json()["error"]["message"], (route, name)
    oversized = b'{"schemaId": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = stack.http.post(
        f"{stack.api_url}{route}", data=oversized, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert answer.status_code == 413, answer.text[:200]
    assert stack.http.get(f"{stack.api_url}/api/failovers", timeout=10).json()["runs"] == []

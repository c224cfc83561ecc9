"""docs/openapi.yaml: a valid OpenAPI document, listing exactly the routes of `failover.handlers.ROUTES`, and
what the local server answers fits it: the answers collected along a real run are validated against the
document's response schemas, and schemathesis fuzzes the stateless routes (bounded, derandomized)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from failover.handlers import ROUTES
from local.stack import ROOT, LocalStack
from tests.conftest import (
    DEMO_ALERT,
    approval_link,
    approve_as,
    finish,
    post_alert,
    wait_waiting,
    write_plan,
)

DOC_PATH = ROOT / "docs" / "openapi.yaml"
DOC: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
DOC_URI = "urn:failover:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
EXAMPLES = ROOT / "examples" / "alerts"
PRINCIPAL = "X-MS-CLIENT-PRINCIPAL-NAME"
JSON = {"Content-Type": "application/json"}


# ---- the document -------------------------------------------------------------------------------
def test_document_is_valid_openapi() -> None:
    validate_openapi(DOC)


def test_document_lists_exactly_the_routes() -> None:
    documented = {
        (method.upper(), path) for path, item in DOC["paths"].items() for method in item if method in HTTP_METHODS
    }
    served = {(route.method, f"/api/{route.path}") for route in ROUTES}
    assert sorted(served - documented) == [], "routes missing from docs/openapi.yaml"
    assert sorted(documented - served) == [], "operations in docs/openapi.yaml that no route serves"
    for route in ROUTES:
        operation = DOC["paths"][f"/api/{route.path}"][route.method.lower()]
        assert operation["operationId"] == route.name
        anonymous = operation.get("security", DOC["security"]) == []
        assert anonymous == (route.auth == "anonymous"), f"{route.name}: security does not match auth {route.auth}"
        if route.auth == "function":
            assert "401" in operation["responses"], f"{route.name}: a function-level route answers 401"


# ---- validating answers against the document ----------------------------------------------------
def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _resolve(pointer: str) -> Any:
    node: Any = DOC
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@cache
def _registry() -> Registry:
    return Registry().with_resource(DOC_URI, Resource.from_contents(DOC, default_specification=DRAFT202012))


def _schema_ref(response_pointer: str, content_type: str) -> dict[str, str]:
    """{"$ref"} to the schema of one response's media type, following a `$ref`'d response object."""
    response = _resolve(response_pointer)
    if "$ref" in response:
        response_pointer = response["$ref"]
        response = _resolve(response_pointer)
    assert content_type in response.get("content", {}), f"{response_pointer}: no {content_type} content"
    return {"$ref": f"{DOC_URI}{response_pointer}/content/{_escape(content_type)}/schema"}


def _validate(body: Any, schema: dict[str, str]) -> None:
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, (
        "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message[:300]}" for e in errors[:10])
        + f"\nbody: {json.dumps(body)[:2000]}"
    )


def fits(response: requests.Response, path: str, method: str, status: int) -> Any:
    """Assert the status, that the document lists it for this operation, and that the body fits its schema."""
    assert response.status_code == status, f"{method.upper()} {path}: {response.status_code} {response.text[:500]}"
    responses = DOC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path}: {status} is not documented"
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    pointer = f"#/paths/{_escape(path)}/{method}/responses/{status}"
    if content_type != "application/json":
        assert content_type in (_resolve(pointer).get("content") or {}), f"{pointer}: {content_type} undocumented"
        return response.text
    body = response.json()
    _validate(body, _schema_ref(pointer, content_type))
    return body


def fits_component(response: requests.Response, name: str, status: int) -> None:
    """For answers outside any operation (unknown path or method): the shared response `name`."""
    assert response.status_code == status, response.text
    _validate(response.json(), _schema_ref(f"#/components/responses/{name}", "application/json"))


def test_validator_rejects_a_wrong_body() -> None:
    """The checks below mean something: a body that breaks the schema fails."""
    with pytest.raises(AssertionError, match="deduplicated"):
        _validate(
            {"instance_id": "x", "status_url": "http://h/x"},
            _schema_ref("#/paths/~1api~1failovers/post/responses/202", "application/json"),
        )
    with pytest.raises(AssertionError):
        _validate(
            {"error": {"code": "X", "message": "m", "extra": 1}}, {"$ref": f"{DOC_URI}#/components/schemas/Error"}
        )


# ---- a real run ---------------------------------------------------------------------------------
def test_answers_of_a_real_run_fit_the_document(make_stack: Any) -> None:
    """Alerts, the run while it waits and when done, lists, plans, health and the error answers."""
    approvers = ["oncall-lead@contoso.com", "platform-owner@contoso.com"]
    # two approvals: one through the Teams link (HTML answer), one through the API (JSON answer)
    stack = make_stack(
        vms=10, sessions=2, approval={"required": 2, "approvers": approvers, "timeout": "4h", "on_timeout": "abort"}
    )
    api, http = stack.api_url, stack.http

    fits(requests.get(f"{api}/api/health", timeout=10), "/api/health", "get", 200)
    fits(http.get(f"{api}/api/plans", timeout=10), "/api/plans", "get", 200)
    plan = fits(http.get(f"{api}/api/plans/demo", timeout=10), "/api/plans/{name}", "get", 200)
    assert plan["name"] == "demo"

    started = fits(post_alert(stack), "/api/alerts", "post", 202)
    instance_id = started["instance_id"]
    assert started["deduplicated"] is False and started["runs"][0]["instance_id"] == instance_id
    assert fits(post_alert(stack), "/api/alerts", "post", 202)["deduplicated"] is True
    ignored = post_alert(stack, EXAMPLES / "service-health-maintenance-eastus-westeurope.json")
    assert fits(ignored, "/api/alerts", "post", 200)["ignored"] is True

    events = f"{api}/api/events"
    validation = http.post(events, data=(EXAMPLES / "eventgrid-subscription-validation.json").read_bytes(),
                           headers=JSON, timeout=10)  # fmt: skip
    assert "validationResponse" in fits(validation, "/api/events", "post", 200)
    degraded = http.post(events, data=(EXAMPLES / "cloudevents-availability-degraded.json").read_bytes(),
                         headers={"Content-Type": "application/cloudevents+json"}, timeout=10)  # fmt: skip
    assert fits(degraded, "/api/events", "post", 200)["ignored"] is True
    handshake = http.options(events, headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=10)
    assert handshake.status_code == 200 and handshake.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert set(DOC["paths"]["/api/events"]["options"]["responses"]["200"]["headers"]) <= set(handshake.headers)
    fits(http.options(events, timeout=10), "/api/events", "options", 400)

    wait_waiting(stack, instance_id)
    run_url = f"{api}/api/failovers/{instance_id}"
    waiting = fits(http.get(run_url, timeout=10), "/api/failovers/{instance_id}", "get", 200)
    assert waiting["approval"]["waiting"] is True and waiting["output"] is None
    assert "nonce" not in waiting["approval"] and "used" not in waiting["custom_status"]["approval"]
    listed = fits(http.get(f"{api}/api/failovers", timeout=10), "/api/failovers", "get", 200)
    assert [r["instance_id"] for r in listed["runs"]] == [instance_id]
    again = http.post(f"{api}/api/failovers", json={"plan": "demo", "mode": "planned"}, timeout=10)
    assert fits(again, "/api/failovers", "post", 202)["deduplicated"] is True
    fits(http.post(f"{run_url}/plans/rp-identity/retry", timeout=10),
         "/api/failovers/{instance_id}/plans/{recovery_plan}/retry", "post", 409)  # fmt: skip
    fits(http.post(f"{run_url}/plans/rp-identity/skip", json={"reason": "x"}, timeout=10),
         "/api/failovers/{instance_id}/plans/{recovery_plan}/skip", "post", 409)  # fmt: skip

    api_approval = f"{run_url}/approvals"
    path = "/api/failovers/{instance_id}/approvals"
    fits(http.post(api_approval, json={"decision": "approve"}, timeout=10), path, "post", 401)  # no identity
    stranger = {PRINCIPAL: "mallory@contoso.com"}
    fits(http.post(api_approval, json={"decision": "approve"}, headers=stranger, timeout=10), path, "post", 403)
    fits(http.post(api_approval, json={"decision": "maybe"}, headers=stranger, timeout=10), path, "post", 422)

    link = approval_link(stack, instance_id)
    page = fits(requests.get(link, timeout=10), "/api/approvals/{instance_id}", "get", 200)
    assert "<form" in page
    fits(requests.get(f"{api}/api/approvals/{instance_id}?token=forged", timeout=10),
         "/api/approvals/{instance_id}", "get", 403)  # fmt: skip
    link_decision = "/api/approvals/{instance_id}"
    fits(requests.post(f"{api}/api/approvals/{instance_id}", json={"token": "forged", "decision": "approve"},
                       headers={PRINCIPAL: approvers[0]}, timeout=10), link_decision, "post", 403)  # fmt: skip
    fits(requests.post(f"{api}/api/approvals/{instance_id}", data={"token": "forged", "decision": "maybe"},
                       timeout=10), link_decision, "post", 422)  # fmt: skip
    fits(approve_as(approvers[0], link), link_decision, "post", 200)  # the form post: an HTML page
    replay = approve_as(approvers[0], link)
    fits(replay, link_decision, "post", 409)
    recorded = fits(http.post(api_approval, json={"decision": "approve", "comment": "go"},
                              headers={PRINCIPAL: approvers[1]}, timeout=10), path, "post", 200)  # fmt: skip
    assert recorded["recorded"]["approver"] == approvers[1]

    finish(stack, instance_id)
    done = fits(http.get(run_url, timeout=10), "/api/failovers/{instance_id}", "get", 200)
    assert done["status"] == "Completed" and done["output"]["status"] == "Completed"
    assert [a["approver"] for a in done["approvals"]] == approvers
    completed = fits(http.get(f"{api}/api/failovers?status=Completed&plan=demo", timeout=10),
                     "/api/failovers", "get", 200)  # fmt: skip
    assert [r["status"] for r in completed["runs"]] == ["Completed"]
    fits(http.post(f"{run_url}/cancel", timeout=10), "/api/failovers/{instance_id}/cancel", "post", 409)
    fits(http.post(api_approval, json={"decision": "approve"}, headers={PRINCIPAL: approvers[0]}, timeout=10),
         path, "post", 409)  # fmt: skip

    # a second run, started by hand and cancelled while it waits for approval
    second = http.post(f"{api}/api/failovers", json={"plan": "demo", "mode": "planned", "reason": "drill"},
                       headers={PRINCIPAL: "ops@contoso.com"}, timeout=10)  # fmt: skip
    assert fits(second, "/api/failovers", "post", 202)["deduplicated"] is False
    wait_waiting(stack, instance_id)
    cancel = http.post(f"{run_url}/cancel", json={"reason": "not today"}, timeout=10)
    assert fits(cancel, "/api/failovers/{instance_id}/cancel", "post", 202)["cancel_requested"] is True
    finish(stack, instance_id)
    cancelled = fits(http.get(run_url, timeout=10), "/api/failovers/{instance_id}", "get", 200)
    assert cancelled["status"] == "Cancelled" and cancelled["requested_by"] == "ops@contoso.com"

    # error answers
    alerts = f"{api}/api/alerts"
    fits(http.post(alerts, data=b"{not json", headers=JSON, timeout=10), "/api/alerts", "post", 400)
    fits(requests.post(alerts, data=DEMO_ALERT.read_bytes(), headers=JSON, timeout=10), "/api/alerts", "post", 401)
    fits(requests.get(f"{api}/api/failovers", params={"code": "wrong"}, timeout=10), "/api/failovers", "get", 401)
    fits(http.get(f"{api}/api/failovers/failover-nope", timeout=10), "/api/failovers/{instance_id}", "get", 404)
    fits(http.get(f"{api}/api/plans/nope", timeout=10), "/api/plans/{name}", "get", 404)
    fits(http.get(f"{api}/api/failovers?plan=nope", timeout=10), "/api/failovers", "get", 404)
    fits(http.post(f"{api}/api/failovers", json={"plan": "nope"}, timeout=10), "/api/failovers", "post", 404)
    fits(http.post(f"{api}/api/failovers/nope/cancel", timeout=10), "/api/failovers/{instance_id}/cancel", "post", 404)
    too_big = b" " * (256 * 1024 + 1)
    fits(http.post(alerts, data=too_big, headers=JSON, timeout=10), "/api/alerts", "post", 413)
    fits(http.post(f"{api}/api/events", data=too_big, headers=JSON, timeout=10), "/api/events", "post", 413)
    fits(http.post(alerts, data=b"x", headers={"Content-Type": "text/plain"}, timeout=10), "/api/alerts", "post", 415)
    fits(http.post(f"{api}/api/events", data=b"{}", headers={"Content-Type": "text/xml"}, timeout=10),
         "/api/events", "post", 415)  # fmt: skip
    fits(http.post(alerts, json={"schemaId": "azureMonitorCommonAlertSchema", "data": {}}, timeout=10),
         "/api/alerts", "post", 422)  # fmt: skip
    fits(http.post(f"{api}/api/events", json=[{"specversion": "0.3"}], timeout=10), "/api/events", "post", 422)
    fits(
        http.post(f"{api}/api/failovers", json={"plan": "demo", "extra": 1}, timeout=10), "/api/failovers", "post", 422
    )
    fits(http.post(f"{api}/api/failovers", json={"plan": "demo", "mode": "test"}, timeout=10),
         "/api/failovers", "post", 422)  # fmt: skip
    fits(http.get(f"{api}/api/failovers?status=bogus", timeout=10), "/api/failovers", "get", 422)
    fits(http.post(f"{run_url}/cancel", json=[], timeout=10), "/api/failovers/{instance_id}/cancel", "post", 422)
    fits_component(http.get(f"{api}/api/nope", timeout=10), "NotFound", 404)
    fits_component(http.delete(f"{api}/api/plans", timeout=10), "MethodNotAllowed", 405)


# ---- schemathesis against the local server --------------------------------------------------------
FUZZED = [
    "alerts",
    "events",
    "failover_start",
    "failovers_list",
    "failover_status",
    "plan_get",
    "failover_cancel",
    "failover_plan_retry",
    "failover_plan_skip",
    "failover_approve",
    "approval_decision",
]
SCHEMA = schemathesis.openapi.from_path(DOC_PATH)
SCHEMA.config.generation.update(max_examples=20, deterministic=True, with_security_parameters=False)
SCHEMA.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """One local stack for every fuzzed operation."""
    plan_path = write_plan(tmp_path_factory.mktemp("openapi"))
    stack = LocalStack(plan_path=plan_path, vms=10, sessions=2, time_scale=600.0).start()
    yield stack
    stack.stop()


@SCHEMA.include(operation_id=FUZZED).parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=5),
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis(case: schemathesis.Case, live: LocalStack) -> None:
    """Never a 5xx, and every answer is documented and fits its schema."""
    case.call_and_validate(
        base_url=live.api_url,
        headers={"x-functions-key": live.api_key or ""},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        timeout=15,
    )


def test_fuzzed_operations_exist() -> None:
    ids = {op["operationId"] for item in DOC["paths"].values() for m, op in item.items() if m in HTTP_METHODS}
    assert set(FUZZED) <= ids

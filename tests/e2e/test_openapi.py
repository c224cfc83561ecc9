"""docs/openapi.yaml: a valid OpenAPI document, listing exactly the routes of `failover.api.ROUTES`, and
what the local server answers fits it: the answers collected along real runs are validated against the
document's response schemas, hostile inputs get the documented 4xx, and schemathesis fuzzes the routes
(bounded and derandomized)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
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

from failover.api import ROUTES
from failover.callbacks import CallbackClaims, callback_token
from local.stack import ROOT, LocalStack
from tests.conftest import (
    DEMO_ALERT,
    approval_link,
    approve_as,
    finish,
    post_alert,
    run_status,
    wait_for,
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
APPROVERS = ["oncall-lead@contoso.com", "platform-owner@contoso.com"]
SCOPE = "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups/rg-app-eus"


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


def _response(pointer: str) -> tuple[str, dict[str, Any]]:
    """A response object and its pointer, following a `$ref` to components/responses."""
    response = _resolve(pointer)
    if "$ref" in response:
        pointer = response["$ref"]
        response = _resolve(pointer)
    return pointer, response


def _schema_ref(response_pointer: str, content_type: str) -> dict[str, str]:
    """{"$ref"} to the schema of one response's media type."""
    pointer, response = _response(response_pointer)
    assert content_type in response.get("content", {}), f"{pointer}: no {content_type} content"
    return {"$ref": f"{DOC_URI}{pointer}/content/{_escape(content_type)}/schema"}


def _validate(body: Any, schema: dict[str, str]) -> None:
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, (
        "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message[:300]}" for e in errors[:10])
        + f"\nbody: {json.dumps(body)[:2000]}"
    )


def _check(response: requests.Response, pointer: str) -> Any:
    """The answer fits the response at `pointer`: its content type, its schema, its required headers."""
    resolved, documented = _response(pointer)
    for name, header in (documented.get("headers") or {}).items():
        assert not header.get("required") or name in response.headers, f"{resolved}: no {name} header"
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type != "application/json":
        assert content_type in (documented.get("content") or {}), f"{resolved}: {content_type} is undocumented"
        return response.text
    body = response.json()
    _validate(body, _schema_ref(pointer, content_type))
    return body


def fits(response: requests.Response, path: str, method: str, status: int) -> Any:
    """Assert the status, that the document lists it for this operation, and that the answer fits it."""
    assert response.status_code == status, f"{method.upper()} {path}: {response.status_code} {response.text[:500]}"
    assert str(status) in DOC["paths"][path][method]["responses"], f"{method.upper()} {path}: {status} undocumented"
    return _check(response, f"#/paths/{_escape(path)}/{method}/responses/{status}")


def fits_component(response: requests.Response, name: str, status: int) -> Any:
    """For answers outside any operation (unknown path or method): the shared response `name`."""
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return _check(response, f"#/components/responses/{name}")


def test_validator_rejects_a_wrong_body() -> None:
    """The checks below mean something: a body that breaks the schema fails."""
    started = _schema_ref("#/paths/~1api~1failovers/post/responses/202", "application/json")
    with pytest.raises(AssertionError, match="deduplicated"):
        _validate({"instance_id": "x", "status_url": "http://h/x"}, started)
    with pytest.raises(AssertionError, match="extra"):
        _validate(
            {"error": {"code": "X", "message": "m", "extra": 1}}, {"$ref": f"{DOC_URI}#/components/schemas/Error"}
        )
    with pytest.raises(AssertionError, match="date-time"):
        _validate({"status": "ok", "plans": [], "time": "yesterday"}, {"$ref": f"{DOC_URI}#/components/schemas/Health"})


def test_requests_the_server_refuses_are_schema_invalid() -> None:
    """Issue 21: two schema-valid requests were refused 422. The document now says what the parsers need: a legacy
    activity-log alert names its id (eventDataId, operationId or correlationId); a Resource Health event names its
    resource (data.resourceInfo or resourceDetails). The parsers refuse exactly these."""
    from failover.alerts import AlertError, parse_alert
    from failover.events import parse_event_delivery

    legacy = json.loads((ROOT / "examples" / "alerts" / "legacy-service-health-incident-eastus.json").read_text())
    for key in ("eventDataId", "operationId", "correlationId"):
        legacy["data"]["context"]["activityLog"].pop(key, None)
    alert_schema = {"$ref": f"{DOC_URI}#/components/schemas/LegacyActivityLogAlert"}
    with pytest.raises(AssertionError, match="activityLog"):
        _validate(legacy, alert_schema)
    with pytest.raises(AlertError):
        parse_alert(legacy)
    event = json.loads((ROOT / "examples" / "alerts" / "cloudevents-availability-degraded.json").read_text())
    event = event[0] if isinstance(event, list) else event
    del event["data"]["resourceDetails"]  # the sample spells it resourceDetails (resourceInfo is accepted too)
    with pytest.raises(AssertionError):
        _validate(event, {"$ref": f"{DOC_URI}#/components/schemas/CloudEvent"})
    with pytest.raises(AlertError):
        parse_event_delivery(event)


# ---- real runs ----------------------------------------------------------------------------------
def test_answers_of_a_real_run_fit_the_document(make_stack: Any) -> None:
    """Alerts, the run while it waits for approval, for an operator and when done, lists, plans, health,
    both approval routes, cancel, retry, and the error answers."""
    stack = make_stack(
        vms=10,
        sessions=2,
        # two approvals: one through the Teams link (an HTML answer), one through the API (JSON)
        approval={"required": 2, "approvers": APPROVERS, "timeout": "4h", "on_timeout": "abort"},
        operator_wait="4h",
    )
    stack.estate.config.failing_plans["rp-data-01"] = "The replication of VM vm-sql-01 is not healthy."
    api, http = stack.api_url, stack.http

    fits(requests.get(f"{api}/api/health", timeout=10), "/api/health", "get", 200)
    fits(http.get(f"{api}/api/plans", timeout=10), "/api/plans", "get", 200)
    assert fits(http.get(f"{api}/api/plans/demo", timeout=10), "/api/plans/{name}", "get", 200)["name"] == "demo"

    started = fits(post_alert(stack), "/api/alerts", "post", 202)
    instance_id = started["instance_id"]
    assert started["deduplicated"] is False and started["runs"][0]["instance_id"] == instance_id
    assert fits(post_alert(stack), "/api/alerts", "post", 202)["deduplicated"] is True
    ignored = post_alert(stack, EXAMPLES / "service-health-maintenance-eastus-westeurope.json")
    assert fits(ignored, "/api/alerts", "post", 200)["ignored"] is True

    events = f"{api}/api/events"
    validation = http.post(
        events, data=(EXAMPLES / "eventgrid-subscription-validation.json").read_bytes(), headers=JSON, timeout=10
    )
    assert "validationResponse" in fits(validation, "/api/events", "post", 200)
    degraded = http.post(
        events,
        data=(EXAMPLES / "cloudevents-availability-degraded.json").read_bytes(),
        headers={"Content-Type": "application/cloudevents+json"},
        timeout=10,
    )
    assert fits(degraded, "/api/events", "post", 200)["ignored"] is True
    handshake = http.options(events, headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=10)
    assert handshake.status_code == 200 and handshake.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert set(DOC["paths"]["/api/events"]["options"]["responses"]["200"]["headers"]) <= set(handshake.headers)
    fits(http.options(events, timeout=10), "/api/events", "options", 400)

    wait_waiting(stack, instance_id)
    run_url = f"{api}/api/failovers/{instance_id}"
    run_path = "/api/failovers/{instance_id}"
    waiting = fits(http.get(run_url, timeout=10), run_path, "get", 200)
    assert waiting["approval"]["waiting"] is True and waiting["output"] is None
    assert "nonce" not in waiting["approval"] and "used" not in waiting["custom_status"]["approval"]
    listed = fits(http.get(f"{api}/api/failovers", timeout=10), "/api/failovers", "get", 200)
    assert [r["instance_id"] for r in listed["runs"]] == [instance_id]
    again = http.post(f"{api}/api/failovers", json={"plan": "demo", "mode": "planned"}, timeout=10)
    assert fits(again, "/api/failovers", "post", 202)["deduplicated"] is True
    retry_path = "/api/failovers/{instance_id}/plans/{recovery_plan}/retry"
    fits(http.post(f"{run_url}/plans/rp-identity/retry", timeout=10), retry_path, "post", 409)
    fits(
        http.post(f"{run_url}/plans/rp-identity/skip", json={"reason": "x"}, timeout=10),
        "/api/failovers/{instance_id}/plans/{recovery_plan}/skip",
        "post",
        409,
    )

    api_approval = f"{run_url}/approvals"
    approvals_path = "/api/failovers/{instance_id}/approvals"
    fits(http.post(api_approval, json={"decision": "approve"}, timeout=10), approvals_path, "post", 401)
    stranger = {PRINCIPAL: "mallory@contoso.com"}
    fits(
        http.post(api_approval, json={"decision": "approve"}, headers=stranger, timeout=10), approvals_path, "post", 403
    )
    fits(http.post(api_approval, json={"decision": "maybe"}, headers=stranger, timeout=10), approvals_path, "post", 422)

    link = approval_link(stack, instance_id)
    link_path = "/api/approvals/{instance_id}"
    assert "<form" in fits(requests.get(link, timeout=10), link_path, "get", 200)
    fits(requests.get(f"{api}/api/approvals/{instance_id}?token=forged", timeout=10), link_path, "get", 403)
    forged = {"token": "forged", "decision": "approve"}
    decide = f"{api}/api/approvals/{instance_id}"
    fits(requests.post(decide, json=forged, headers={PRINCIPAL: APPROVERS[0]}, timeout=10), link_path, "post", 403)
    fits(requests.post(decide, data={**forged, "decision": "maybe"}, timeout=10), link_path, "post", 422)
    fits(approve_as(APPROVERS[0], link), link_path, "post", 200)  # the confirm page's form: an HTML answer
    fits(approve_as(APPROVERS[0], link), link_path, "post", 409)  # the link was used
    recorded = fits(
        http.post(
            api_approval, json={"decision": "approve", "comment": "go"}, headers={PRINCIPAL: APPROVERS[1]}, timeout=10
        ),
        approvals_path,
        "post",
        200,
    )
    assert recorded["recorded"]["approver"] == APPROVERS[1]

    # rp-data-01 fails: the data group stops and waits for an operator
    blocked = wait_for(lambda: (s := run_status(stack, instance_id))["operator"]["blocked"] and s, timeout=60)
    assert blocked["stage"] == "awaiting operator"
    blocked = fits(http.get(run_url, timeout=10), run_path, "get", 200)
    assert blocked["operator"]["blocked"] == ["rp-data-01"]
    stack.estate.config.failing_plans.clear()
    retried = fits(
        http.post(f"{run_url}/plans/rp-data-01/retry", json={"requested_by": "ops@contoso.com"}, timeout=10),
        retry_path,
        "post",
        202,
    )
    assert retried == {
        "instance_id": instance_id, "recovery_plan": "rp-data-01", "action": "retry", "accepted": True,
        "decided": True, "note": "retry of rp-data-01 accepted",
    }  # fmt: skip

    finish(stack, instance_id)
    done = fits(http.get(run_url, timeout=10), run_path, "get", 200)
    assert done["status"] == "Completed" and done["output"]["status"] == "Completed", done["errors"]
    assert [a["approver"] for a in done["approvals"]] == APPROVERS
    assert [b["recovery_plans"] for b in done["output"]["batches"]][-1] == ["rp-data-01"]  # the retry
    completed = fits(
        http.get(f"{api}/api/failovers?status=Completed&plan=demo", timeout=10), "/api/failovers", "get", 200
    )
    assert [r["status"] for r in completed["runs"]] == ["Completed"]
    cancel_path = "/api/failovers/{instance_id}/cancel"
    fits(http.post(f"{run_url}/cancel", timeout=10), cancel_path, "post", 409)
    fits(
        http.post(api_approval, json={"decision": "approve"}, headers={PRINCIPAL: APPROVERS[0]}, timeout=10),
        approvals_path,
        "post",
        409,
    )

    # a second run, started by hand and cancelled while it waits for approval
    second = http.post(
        f"{api}/api/failovers",
        json={"plan": "demo", "mode": "planned", "reason": "drill"},
        headers={PRINCIPAL: "ops@contoso.com"},
        timeout=10,
    )
    started = fits(second, "/api/failovers", "post", 202)
    assert started["deduplicated"] is False and started["instance_id"] != instance_id  # a run id of its own
    second_url = f"{api}/api/failovers/{started['instance_id']}"
    wait_waiting(stack, started["instance_id"])
    cancel = http.post(f"{second_url}/cancel", json={"reason": "not today"}, timeout=10)
    assert fits(cancel, cancel_path, "post", 202)["cancel_requested"] is True
    finish(stack, started["instance_id"])
    cancelled = fits(http.get(second_url, timeout=10), run_path, "get", 200)
    assert cancelled["status"] == "Cancelled" and cancelled["requested_by"] == "ops@contoso.com"
    assert fits(http.get(run_url, timeout=10), run_path, "get", 200)["status"] == "Completed"  # still readable

    # error answers
    alerts = f"{api}/api/alerts"
    fits(http.post(alerts, data=b"{not json", headers=JSON, timeout=10), "/api/alerts", "post", 400)
    fits(requests.post(alerts, data=DEMO_ALERT.read_bytes(), headers=JSON, timeout=10), "/api/alerts", "post", 401)
    fits(requests.get(f"{api}/api/failovers", params={"code": "wrong"}, timeout=10), "/api/failovers", "get", 401)
    fits(http.get(f"{api}/api/failovers/failover-nope", timeout=10), run_path, "get", 404)
    fits(http.get(f"{api}/api/plans/nope", timeout=10), "/api/plans/{name}", "get", 404)
    fits(http.get(f"{api}/api/failovers?plan=nope", timeout=10), "/api/failovers", "get", 404)
    fits(http.post(f"{api}/api/failovers", json={"plan": "nope"}, timeout=10), "/api/failovers", "post", 404)
    fits(http.post(f"{api}/api/failovers/nope/cancel", timeout=10), cancel_path, "post", 404)
    too_big = b" " * (256 * 1024 + 1)
    fits(http.post(alerts, data=too_big, headers=JSON, timeout=10), "/api/alerts", "post", 413)
    fits(http.post(events, data=too_big, headers=JSON, timeout=10), "/api/events", "post", 413)
    fits(http.post(alerts, data=b"x", headers={"Content-Type": "text/plain"}, timeout=10), "/api/alerts", "post", 415)
    fits(http.post(events, data=b"{}", headers={"Content-Type": "text/xml"}, timeout=10), "/api/events", "post", 415)
    fits(
        http.post(alerts, json={"schemaId": "azureMonitorCommonAlertSchema", "data": {}}, timeout=10),
        "/api/alerts",
        "post",
        422,
    )
    fits(http.post(events, json=[{"specversion": "0.3"}], timeout=10), "/api/events", "post", 422)
    fits(
        http.post(f"{api}/api/failovers", json={"plan": "demo", "extra": 1}, timeout=10), "/api/failovers", "post", 422
    )
    fits(
        http.post(f"{api}/api/failovers", json={"plan": "demo", "mode": "failback"}, timeout=10),
        "/api/failovers",
        "post",
        422,
    )
    fits(http.get(f"{api}/api/failovers?status=bogus", timeout=10), "/api/failovers", "get", 422)
    fits(http.post(f"{run_url}/cancel", json=[], timeout=10), cancel_path, "post", 422)
    fits_component(http.get(f"{api}/api/nope", timeout=10), "NotFound", 404)


# ---- one stack for hostile inputs and schemathesis --------------------------------------------------
@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The demo plan, also started by Resource Health events for resources in SCOPE."""
    plan_path = write_plan(
        tmp_path_factory.mktemp("openapi"), triggers={"regions": ["westeurope"], "resource_scopes": [SCOPE]}
    )
    stack = LocalStack(plan_path=plan_path, vms=10, sessions=2, time_scale=600.0).start()
    yield stack
    stack.stop()


def _post(path: str, body: bytes, content_type: str = "application/json") -> Callable[[LocalStack], requests.Response]:
    def send(stack: LocalStack) -> requests.Response:
        headers = {"Content-Type": content_type, PRINCIPAL: APPROVERS[0]}
        return stack.http.post(f"{stack.api_url}{path}", data=body, headers=headers, timeout=30)

    return send


def _bad_key(stack: LocalStack) -> requests.Response:
    return requests.get(f"{stack.api_url}/api/plans", headers={"x-functions-key": "\xff"}, timeout=10)


def _chunked(stack: LocalStack) -> requests.Response:
    chunks = (b" " * 65536 for _ in range(17))  # 1.06 MiB without a Content-Length
    return stack.http.post(f"{stack.api_url}/api/alerts", data=chunks, headers=JSON, timeout=30)


def _callback(body: bytes) -> Callable[[LocalStack], requests.Response]:
    """A callback with a valid token (checked before the body is read)."""

    def send(stack: LocalStack) -> requests.Response:
        claims = CallbackClaims("failover-demo", "sql", "n", 4_000_000_000)
        token = callback_token(stack.settings.approval_signing_key, claims)
        url = f"{stack.api_url}/api/failovers/failover-demo/callbacks/sql?token={token}"
        return requests.post(url, data=body, headers=JSON, timeout=30)

    return send


DEEP = b"[" * 100_000  # 100 KB: under the 256 KB limit
HOSTILE = [
    pytest.param(_post("/api/alerts", DEEP), 400, id="deep-json-alerts"),
    pytest.param(_post("/api/alerts", b"[" * 5000 + b"]" * 5000), 400, id="valid-deep-json-alerts"),
    pytest.param(_post("/api/events", DEEP), 400, id="deep-json-events"),
    pytest.param(_post("/api/failovers", DEEP), 400, id="deep-json-start"),
    pytest.param(_post("/api/failovers/failover-demo/cancel", DEEP), 400, id="deep-json-cancel"),
    pytest.param(
        _post("/api/failovers/failover-demo/plans/rp-data-01/retry", DEEP),
        400,
        id="deep-json-retry",
    ),
    pytest.param(_post("/api/failovers/failover-demo/approvals", DEEP), 400, id="deep-json-api-approval"),
    pytest.param(_post("/api/approvals/failover-demo", DEEP), 400, id="deep-json-link-approval"),
    pytest.param(_callback(DEEP), 400, id="deep-json-callback"),
    pytest.param(_post("/api/alerts", b"[" * 500 + b"]" * 500), 422, id="nested-json-alerts"),
    pytest.param(_callback(b"{not json"), 400, id="malformed-json-callback"),
    pytest.param(_bad_key, 401, id="non-utf8-function-key"),
    pytest.param(_chunked, 413, id="chunked-body-over-1mib"),
]


@pytest.mark.parametrize(("send", "status"), HOSTILE)
def test_hostile_input_gets_the_documented_4xx(
    live: LocalStack, send: Callable[[LocalStack], requests.Response], status: int
) -> None:
    """Client input never gets a 5xx (docs/api.md): the documented status with the error envelope."""
    response = send(live)
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    _validate(response.json(), {"$ref": f"{DOC_URI}#/components/schemas/Error"})


def test_method_not_allowed_names_the_allowed_methods(live: LocalStack) -> None:
    fits_component(live.http.delete(f"{live.api_url}/api/plans", timeout=10), "MethodNotAllowed", 405)


def test_event_trigger_times_are_strings(live: LocalStack) -> None:
    """A Resource Health event whose `resourceEventTime` is not a string is refused, or its run view fits."""
    event = json.loads((EXAMPLES / "cloudevents-availability-degraded.json").read_text())
    subject = f"{SCOPE}/providers/Microsoft.Compute/virtualMachines/vm-app-eus-02"
    event |= {"id": "odd-time", "subject": subject, "time": None}
    event["data"]["resourceDetails"]["properties"] |= {"targetResourceId": subject, "occurredTime": None}
    event["data"]["operationalDetails"]["resourceEventTime"] = {"unexpected": "object"}
    answer = live.http.post(f"{live.api_url}/api/events", json=event, timeout=10)
    if answer.status_code == 422:  # refusing such an event is fine too
        fits(answer, "/api/events", "post", 422)
        return
    instance_id = fits(answer, "/api/events", "post", 202)["instance_id"]
    wait_for(lambda: "odd-time" in {t["alert_id"] for t in run_status(live, instance_id)["triggers"]})
    fits(
        live.http.get(f"{live.api_url}/api/failovers/{instance_id}", timeout=10),
        "/api/failovers/{instance_id}",
        "get",
        200,
    )


# ---- schemathesis against the local server --------------------------------------------------------
FUZZED = [route.name for route in ROUTES]  # every route; the token routes see forged tokens only
SCHEMA = schemathesis.openapi.from_path(DOC_PATH)
SCHEMA.config.generation.update(max_examples=20, deterministic=True, with_security_parameters=False)
SCHEMA.config.phases.update(phases=["examples", "coverage", "fuzzing"])


@SCHEMA.include(operation_id=FUZZED).parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=5),
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_schemathesis(case: schemathesis.Case, live: LocalStack) -> None:
    """Never a 5xx, every status documented, every answer fits its schema."""
    case.call_and_validate(
        base_url=live.api_url,
        headers={"x-functions-key": live.api_key or ""},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        timeout=15,
    )

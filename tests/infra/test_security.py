"""Security posture of the code the infra deploys: no secret in logs or telemetry, security headers on every
page and answer, request bodies size-limited before anything happens. Fast: handlers and activities are called
directly, with a fake durable client (the e2e tests check the same on the running local host)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import pytest
import requests
import structlog
from structlog.testing import capture_logs

from activities import dependencies
from failover import telemetry
from failover.api import HTML_HEADERS, MAX_BODY, ROUTES, Api, error_response, json_response
from failover.api import http as handlers
from failover.approval import TokenClaims, sign
from failover.callbacks import CallbackClaims, callback_token
from failover.contracts.dependencies import WebhookInput
from failover.logs import configure_logging
from failover.plan import load_plans
from failover.settings import Settings, configure
from local.stack import ROOT
from tests.infra.logcapture import ListHandler

SECRETS = {
    "approval_signing_key": "sk-SIGNING-7f3a9c",
    "approval_signing_keys_previous": ("sk-PREVIOUS-2b8e",),
    "teams_webhook_url": "https://prod.workflows.invalid/teams?sig=SIG-TEAMS-41be",
    "escalation_webhook_url": "https://prod.workflows.invalid/escalate?sig=SIG-ESC-90aa",
    "eventgrid_key": "EG-KEY-5d1c",
    "api_key": "API-KEY-c0ffee",
}
WEBHOOK = "https://automation.invalid/webhooks?token=TOKEN-HOOK-3e77"
INSTANCE = "failover-demo"


def secret_values() -> list[str]:
    values = [SECRETS["approval_signing_key"], "sk-PREVIOUS-2b8e", SECRETS["eventgrid_key"], SECRETS["api_key"]]
    values.append("TOKEN-HOOK-3e77")
    return [*values, "SIG-TEAMS-41be", "SIG-ESC-90aa"]  # a webhook URL's secret part is its signature


@pytest.fixture
def settings() -> Iterator[Settings]:
    value = Settings(**SECRETS, webhooks={"hyperv_replica": WEBHOOK})  # type: ignore[arg-type]
    configure(value)
    saved = structlog.get_config()
    yield value
    structlog.configure(**saved)


class Status:
    """What `get_status` answers for a run waiting for approval."""

    name = handlers.ORCHESTRATOR
    instance_id = INSTANCE
    runtime_status = "Running"
    output = None

    def __init__(self) -> None:
        self.custom_status = {
            "plan": "demo",
            "mode": "unplanned",
            "approval": {"waiting": True, "approvers": ["a@contoso.com"], "nonce": "n1", "required": 1},
        }


class RecordingClient:
    """A durable client that records every call; nothing it is asked changes anything."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def get_status(self, instance_id: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("get_status")
        return Status()

    async def get_status_all(self) -> list[Any]:
        self.calls.append("get_status_all")
        return []

    async def start_new(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append("start_new")
        return INSTANCE

    async def raise_event(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append("raise_event")

    async def read_entity_state(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("read_entity_state")
        return SimpleNamespace(entity_exists=False, entity_state=None)

    async def purge_instance_history(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append("purge_instance_history")


def request(method: str, path: str, body: bytes = b"", **params: str) -> func.HttpRequest:
    return func.HttpRequest(
        method=method,
        url=f"http://127.0.0.1:7071/api/{path}",
        headers={"Content-Type": "application/json"},
        params=params,
        route_params={"instance_id": INSTANCE, "recovery_plan": "rp-data-01", "step": "hyperv", "name": "demo"},
        body=body,
    )


def call(api: Api, handler: str, req: func.HttpRequest, client: RecordingClient | None = None) -> func.HttpResponse:
    response: func.HttpResponse = asyncio.run(getattr(api, handler)(req, client or RecordingClient()))
    return response


@pytest.fixture
def api(settings: Settings) -> Api:
    return Api(settings=settings, plans=load_plans(ROOT / "plans"))


class TestNoSecretInLogs:
    def test_webhook_approval_and_settings(self, settings: Settings, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
        """Custom-action webhooks (URL with its token), approval pages and a logged Settings object leak nothing:
        not into structlog's events (capture_logs), not into the JSON lines, not into what telemetry exports."""
        answers = iter([requests.ConnectionError(f"cannot reach {WEBHOOK}"), None])

        def post(url: str, **kwargs: Any) -> Any:
            answer = next(answers)
            if isinstance(answer, Exception):
                raise answer
            response = requests.Response()
            response.status_code, response._content = 202, b'{"JobIds": ["job-1"]}'
            return response

        monkeypatch.setattr(dependencies.requests, "post", post)
        step = WebhookInput(
            instance_id=INSTANCE,
            plan="demo",
            step="hyperv",
            webhook="hyperv-replica",
            nonce="n",
            expires_at=4_000_000_000,
        )
        token = sign(settings.approval_signing_key, TokenClaims(INSTANCE, "approve", 4_000_000_000, "n1"))

        def scenario() -> list[str]:
            texts = []
            with pytest.raises(RuntimeError) as failed:
                dependencies.webhook_invoke(step)
            texts.append(str(failed.value))
            texts.append(json.dumps(dependencies.webhook_invoke(step).plain()))
            page = call(api, "get_approval", request("GET", f"approvals/{INSTANCE}", token=token))
            assert page.status_code == 200 and "<form" in page.get_body().decode()
            texts.append(page.get_body().decode())
            texts.append(
                call(api, "get_approval", request("GET", f"approvals/{INSTANCE}", token="forged")).get_body().decode()
            )
            structlog.get_logger("failover.test").info("settings at startup", settings=settings)
            return texts

        configure_logging("DEBUG", json_output=False)  # every level, whatever an earlier test configured
        with capture_logs() as logs:
            texts = scenario()
        assert logs, "nothing was logged: the check would be empty"
        texts.append(json.dumps(logs, default=repr))

        # Again through the real pipeline: JSON lines on stderr and the records telemetry would export.
        stream = io.StringIO()
        configure_logging("DEBUG", json_output=True, stream=stream)
        exported = logging.getLogger("tests.security.exported")
        handler = ListHandler()
        records = handler.records
        exported.addHandler(handler)
        exported.setLevel(logging.DEBUG)
        exported.propagate = False
        try:
            telemetry.forward_structlog_events(exported)
            answers = iter([requests.ConnectionError(f"cannot reach {WEBHOOK}"), None])
            texts += scenario()
        finally:
            exported.removeHandler(handler)
        assert records and stream.getvalue()
        texts.append(stream.getvalue())
        texts += [json.dumps({k: str(v) for k, v in record.__dict__.items()}) for record in records]

        everything = "\n".join(texts)
        assert token in everything  # the confirm page carries its own link's token, as it must
        for secret in secret_values():
            assert secret not in everything, f"a secret leaked: {secret}"


class TestHeaders:
    def test_every_html_page_is_built_with_the_security_headers(self) -> None:
        """The HTTP handlers (failover/api/) have one place that makes text/html, and it sets the headers."""
        source = "\n".join(p.read_text() for p in sorted(Path(handlers.__file__).parent.glob("*.py")))
        assert len(re.findall(r"text/html", source)) == 1
        assert 'mimetype="text/html", charset="utf-8", headers=HTML_HEADERS' in source

    def test_html_headers(self, api: Api, settings: Settings) -> None:
        token = sign(settings.approval_signing_key, TokenClaims(INSTANCE, "reject", 4_000_000_000, "n1"))
        for req in (
            request("GET", f"approvals/{INSTANCE}", token=token),  # the confirm page
            request("GET", f"approvals/{INSTANCE}", token="forged"),  # an error page
        ):
            page = call(api, "get_approval", req)
            assert page.mimetype == "text/html"
            csp = page.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
            assert "script-src" not in csp  # no script may run on these pages
            assert page.headers["X-Content-Type-Options"] == "nosniff"
            assert page.headers["X-Frame-Options"] == "DENY"
            assert page.headers["Referrer-Policy"] == "no-referrer"  # the URL carries the token
            assert page.headers["Cache-Control"] == "no-store"
            assert page.headers["Strict-Transport-Security"].startswith("max-age=")
            assert all(name in page.headers for name in HTML_HEADERS)

    def test_json_answers(self) -> None:
        for response in (json_response({"ok": True}), error_response(404, "RunNotFound", "no run")):
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Cache-Control"] == "no-store"
        extra = json_response({}, 202, headers={"Location": "/api/failovers/x"})
        assert extra.headers["Location"] == "/api/failovers/x" and extra.headers["Cache-Control"] == "no-store"


class TestKeyRotation:
    """After a rotation the links and callback URLs signed with a previous key (FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS)
    still work; those of a key no longer listed are refused 403 and change nothing."""

    def test_approval_links(self, api: Api) -> None:
        previous = api.settings.approval_signing_keys_previous[0]
        for key, status in ((previous, 200), (api.settings.approval_signing_key, 200), ("sk-REMOVED-0d0d", 403)):
            token = sign(key, TokenClaims(INSTANCE, "approve", 4_000_000_000, "n1"))
            client = RecordingClient()
            page = call(api, "get_approval", request("GET", f"approvals/{INSTANCE}", token=token), client)
            assert page.status_code == status, key
            assert ("<form" in page.get_body().decode()) == (status == 200)
            assert "raise_event" not in client.calls

    def test_callback_urls(self, api: Api) -> None:
        """A previous key's callback URL gets past the token check (then 409: this fake run waits for no callback)."""
        previous = api.settings.approval_signing_keys_previous[0]
        for key, status in ((previous, 409), ("sk-REMOVED-0d0d", 403)):
            token = callback_token(key, CallbackClaims(INSTANCE, "hyperv", "n", 4_000_000_000))
            body = b'{"status": "Succeeded"}'
            client = RecordingClient()
            answer = call(api, "post_callback", request("POST", f"failovers/{INSTANCE}/callbacks/hyperv", body,
                                                        token=token), client)  # fmt: skip
            assert answer.status_code == status, (key, answer.get_body())
            assert "raise_event" not in client.calls


class TestBodyLimit:
    @pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "POST"], ids=lambda r: r.name)
    def test_oversized_body_is_refused_before_anything_happens(self, api: Api, route: handlers.Route) -> None:
        """Every POST route answers 413 to a JSON body over MAX_BODY without touching the engine."""
        params = {}
        if route.handler == "post_callback":  # anonymous: its signed token comes first
            claims = CallbackClaims(INSTANCE, "hyperv", "n", 4_000_000_000)
            params["token"] = callback_token(api.settings.approval_signing_key, claims)
        body = b'{"reason": "' + b"x" * MAX_BODY + b'"}'
        client = RecordingClient()
        req = request("POST", route.path, body, **params)
        if route.handler == "post_alert_entra":  # anonymous at the host: the Action Group's claims come first
            claims = TestActionGroupEntraRoute.claims("ActionGroupsSecureWebhook")
            req = func.HttpRequest(
                method="POST",
                url=req.url,
                headers={"Content-Type": "application/json", "X-MS-CLIENT-PRINCIPAL": claims},
                params={},
                body=body,
            )
        response = call(api, route.handler, req, client)
        assert response.status_code == 413, (route.name, response.get_body()[:200])
        assert json.loads(response.get_body())["error"]["code"] == "PayloadTooLarge"
        assert client.calls == []

    def test_a_body_at_the_limit_is_read(self, api: Api) -> None:
        body = b'{"reason": "' + b"x" * (MAX_BODY - 20) + b'"}'
        assert len(body) <= MAX_BODY
        response = call(api, "post_cancel", request("POST", f"failovers/{INSTANCE}/cancel", body))
        assert response.status_code != 413


class TestIdentityHeader:
    """Issue 21: a caller with the function key, not signed in, started a run naming someone else and approved it by
    setting X-MS-CLIENT-PRINCIPAL-NAME itself. The header is only trusted while App Service Authentication is on
    (the platform sets it and strips a client's own); otherwise a request carrying it is refused and changes
    nothing."""

    def test_trusted_only_behind_app_service_authentication(self) -> None:
        assert Settings.from_env({}).identity_header_trusted is True  # local: the server binds to loopback
        in_azure = {"WEBSITE_SITE_NAME": "func-failover"}
        assert Settings.from_env(in_azure).identity_header_trusted is False
        assert Settings.from_env({**in_azure, "WEBSITE_AUTH_ENABLED": "True"}).identity_header_trusted is True

    def test_an_untrusted_identity_is_refused_and_changes_nothing(self, settings: Settings) -> None:
        api = Api(
            settings=settings.model_copy(update={"identity_header_trusted": False}), plans=load_plans(ROOT / "plans")
        )
        signed = {"Content-Type": "application/json", "X-MS-CLIENT-PRINCIPAL-NAME": "a@contoso.com"}
        cases = [
            ("post_api_approval", b'{"decision": "approve"}'),
            ("post_failover", b'{"plan": "demo", "mode": "planned"}'),
            ("post_cancel", b"{}"),
        ]
        for handler, body in cases:
            client = RecordingClient()
            req = func.HttpRequest(
                method="POST",
                url=f"http://127.0.0.1:7071/api/failovers/{INSTANCE}",
                headers=signed,
                params={},
                route_params={"instance_id": INSTANCE},
                body=body,
            )
            answer = call(api, handler, req, client)
            assert answer.status_code == 401, (handler, answer.get_body())
            assert json.loads(answer.get_body())["error"]["code"] == "IdentityNotTrusted"
            assert "raise_event" not in client.calls and "start_new" not in client.calls


class TestActionGroupEntraRoute:
    """Issue 21: the Action Group called /api/alerts with the function key in its URL. Its secure webhook calls
    /api/alerts/entra with an Entra ID token instead; App Service Authentication validates the token and passes the
    claims, and only a caller with the Action Group app role gets through."""

    @staticmethod
    def claims(*roles: str, role_typ: str = "roles") -> str:
        principal = {"auth_typ": "aad", "role_typ": role_typ, "claims": [{"typ": role_typ, "val": r} for r in roles]}
        return base64.b64encode(json.dumps(principal).encode()).decode()

    def post(self, api: Api, headers: dict[str, str]) -> tuple[func.HttpResponse, RecordingClient]:
        client = RecordingClient()
        req = func.HttpRequest(
            method="POST",
            url="http://127.0.0.1:7071/api/alerts/entra",
            headers={"Content-Type": "application/json", **headers},
            params={},
            body=b'{"schemaId": "azureMonitorCommonAlertSchema"}',
        )
        return call(api, "post_alert_entra", req, client), client

    def test_the_route_takes_no_key(self) -> None:
        (route,) = [r for r in ROUTES if r.path == "alerts/entra"]
        assert (route.method, route.auth, route.handler) == ("POST", "anonymous", "post_alert_entra")

    @pytest.mark.parametrize(
        "headers",
        [
            {},  # no token: App Service Authentication (AllowAnonymous) passes the request on without claims
            {"X-MS-CLIENT-PRINCIPAL": "not base64 json"},
            {"X-MS-CLIENT-PRINCIPAL-NAME": "someone@contoso.com"},  # a signed-in person, not the Action Group
        ],
    )
    def test_refused_without_the_action_group_role(self, api: Api, headers: dict[str, str]) -> None:
        answer, client = self.post(api, headers)
        assert answer.status_code == 401
        assert json.loads(answer.get_body())["error"]["code"] == "NotActionGroup"
        assert client.calls == []
        answer, _ = self.post(api, {"X-MS-CLIENT-PRINCIPAL": self.claims("SomeOtherRole")})
        assert answer.status_code == 401

    @pytest.mark.parametrize("role_typ", ["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"])
    def test_the_action_group_reaches_the_alert_handler(self, api: Api, role_typ: str) -> None:
        answer, _ = self.post(
            api, {"X-MS-CLIENT-PRINCIPAL": self.claims("ActionGroupsSecureWebhook", role_typ=role_typ)}
        )
        assert answer.status_code == 422  # past the gate: the alert handler read (and refused) this payload
        assert json.loads(answer.get_body())["error"]["code"] == "InvalidAlert"

    def test_refused_while_app_service_authentication_is_off(self, settings: Settings) -> None:
        api = Api(
            settings=settings.model_copy(update={"identity_header_trusted": False}), plans=load_plans(ROOT / "plans")
        )
        answer, client = self.post(api, {"X-MS-CLIENT-PRINCIPAL": self.claims("ActionGroupsSecureWebhook")})
        assert answer.status_code == 401 and client.calls == []

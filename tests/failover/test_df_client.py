"""`failover.api.df_client.PagedClient`: in Azure the handlers list every instance of the task hub, not df's first
page. df's real `DurableOrchestrationClient` (azure-functions-durable, as pinned) is pointed at a loopback server that
answers the extension's instance query as Microsoft's HTTP API reference documents it ("Get all instances status"):
pages of at most 100 and an `x-ms-continuation-token` response header while more exist, the next page asked for with
that header on the request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from aiohttp import web
from azure.durable_functions.models.utils import http_utils

from failover import routes
from failover.api import ROUTES, Api
from failover.api.df_client import CONTINUATION, PagedClient
from failover.plan import load_plans
from failover.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PAGE = 100  # the extension's page when the query names no `top`


def _run(instance: int) -> dict[str, Any]:
    """An instance as the extension lists it: a failover run of the demo plan, started `instance` minutes apart."""
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=instance)
    return {
        "name": "failover_orchestrator",
        "instanceId": f"failover-demo-{at:%Y%m%dT%H%M%SZ}-{instance:04x}",
        "runtimeStatus": "Completed",
        "input": None,
        "customStatus": {"plan": "demo", "mode": "planned", "stage": "done"},
        "output": None,
        "createdTime": at.isoformat().replace("+00:00", "Z"),
        "lastUpdatedTime": at.isoformat().replace("+00:00", "Z"),
    }


class Extension:
    """The extension's instance query over `instances`, paged; `tokens` says what each request carried."""

    def __init__(self, instances: list[dict[str, Any]], last_token: str | None = None) -> None:
        self.instances = instances
        self.entities: dict[tuple[str, str], Any] = {}  # (name, key) -> the state as the extension answers it
        self.tokens: list[str | None] = []
        self.last_token = last_token  # what the answer of the last page carries (None: no header)

    async def instance(self, request: web.Request) -> web.Response:
        """One instance's status: 404 with no body when there is none (the extension's HandleGetStatusRequestAsync),
        202 while it runs, else 200."""
        found = next((i for i in self.instances if i["instanceId"] == request.match_info["instance_id"]), None)
        if found is None:
            return web.Response(status=404)
        return web.json_response(found, status=202 if found["runtimeStatus"] in ("Running", "Pending") else 200)

    async def entity(self, request: web.Request) -> web.Response:
        """An entity's state (the extension's HandleGetEntityRequestAsync): 200 with it, or 404 when there is none."""
        key = (request.match_info["name"], request.match_info["key"])
        if key not in self.entities:
            return web.Response(status=404)
        return web.json_response(self.entities[key])

    async def query(self, request: web.Request) -> web.Response:
        token = request.headers.get(CONTINUATION)
        self.tokens.append(token)
        start = int(token) if token else 0
        page = self.instances[start : start + PAGE]
        headers = {}
        if start + PAGE < len(self.instances):
            headers[CONTINUATION] = str(start + PAGE)
        elif self.last_token is not None:
            headers[CONTINUATION] = self.last_token
        return web.json_response(page, headers=headers)


def _with_extension(extension: Extension, work: Callable[[df.DurableOrchestrationClient], Awaitable[Any]]) -> Any:
    async def scenario() -> Any:
        app = web.Application()
        app.router.add_get("/runtime/webhooks/durabletask/instances/", extension.query)
        app.router.add_get("/runtime/webhooks/durabletask/instances/{instance_id}", extension.instance)
        app.router.add_get("/runtime/webhooks/durabletask/entities/{name}/{key}", extension.entity)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}/runtime/webhooks/durabletask/"
        bindings = {"taskHubName": "failover", "creationUrls": {}, "managementUrls": {}, "rpcBaseUrl": base}
        try:
            return await work(df.DurableOrchestrationClient(json.dumps(bindings)))
        finally:
            if http_utils._client_session is not None:
                await http_utils._client_session.close()
            await runner.cleanup()

    return asyncio.run(scenario())


@pytest.fixture(autouse=True)
def _fresh_df_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """df keeps one aiohttp session per process; each test has its own event loop."""
    monkeypatch.setattr(http_utils, "_client_session", None)
    monkeypatch.setattr(http_utils, "_session_lock", asyncio.Lock())


def test_df_lists_the_first_page_only_and_the_paged_client_every_instance() -> None:
    extension = Extension([_run(i) for i in range(250)])

    async def both(client: df.DurableOrchestrationClient) -> tuple[list[Any], list[Any]]:
        return await client.get_status_all(), await PagedClient(client).get_status_all()

    own, paged = _with_extension(extension, both)
    assert len(own) == PAGE  # the SDK's limit (azure-functions-durable-python#580): why PagedClient exists
    assert [s.instance_id for s in paged] == [i["instanceId"] for i in extension.instances]
    assert extension.tokens == [None, None, "100", "200"]  # df's one request, then ours: three pages
    assert {s.runtime_status.value for s in paged} == {"Completed"} and paged[-1].custom_status["plan"] == "demo"


@pytest.mark.parametrize(
    "last_token", ["", "bnVsbA==", "100"], ids=["empty header", "base64 null", "the same token again"]
)
def test_the_last_page_ends_the_query(last_token: str) -> None:
    """The extension adds the header to every answer, its value the next token (HttpApiHandler: empty after the
    last page); one version answered base64 "null" there (azure-functions-durable-extension#1174); a token seen
    before cannot loop either."""
    extension = Extension([_run(i) for i in range(150)], last_token=last_token)
    paged = _with_extension(extension, lambda client: PagedClient(client).get_status_all())
    assert [s.instance_id for s in paged] == [i["instanceId"] for i in extension.instances]
    assert extension.tokens == [None, "100"]


def test_the_run_list_route_lists_every_run_in_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    """`GET /api/failovers` as the Azure blueprint serves it: the route's df client is wrapped, 250 runs listed."""
    extension = Extension([_run(i) for i in range(250)])
    settings = Settings(credential="simulator", approval_signing_key="k" * 32)
    monkeypatch.setattr(routes, "api", lambda: Api(settings=settings, plans=load_plans(ROOT / "plans")))
    route = next(r for r in ROUTES if r.name == "failovers_list")
    request = func.HttpRequest(method="GET", url="http://127.0.0.1:7071/api/failovers", params={}, headers={}, body=b"")

    async def listed(client: df.DurableOrchestrationClient) -> func.HttpResponse:
        return await routes._function(route)(request, client)

    answer = _with_extension(extension, listed)
    runs = json.loads(answer.get_body())["runs"]
    assert answer.status_code == 200 and len(runs) == 250
    assert runs[0]["instance_id"] == extension.instances[-1]["instanceId"]  # newest first


def test_a_new_run_id_is_drawn_again_while_an_instance_has_it_in_azure() -> None:
    """`ApiBase._unused_id` through df's client: an id the extension knows (ended or running) is drawn again; its 404
    with no body reads as no instance."""
    extension = Extension([_run(0), {**_run(1), "runtimeStatus": "Running"}])
    draws = iter([extension.instances[0]["instanceId"], extension.instances[1]["instanceId"], "failover-demo-new"])
    api = Api(settings=Settings(credential="simulator", approval_signing_key="k" * 32), plans={})
    drawn = _with_extension(extension, lambda client: api._unused_id(PagedClient(client), lambda: next(draws)))
    assert drawn == "failover-demo-new"


@pytest.mark.parametrize("as_text", [False, True], ids=["state as JSON", "state as JSON text"])
def test_the_plans_claim_is_read_through_dfs_client(as_text: bool) -> None:
    """`ApiBase._holder` through df's client: the `plan_claim` entity's holder, running, is the plan's run, whether
    the extension answers the state decoded or as the JSON text the Python entity wrote; no entity, no holder."""
    running = {**_run(1), "runtimeStatus": "Running"}
    extension = Extension([_run(0), running])
    state = {"holder": {"run_id": running["instanceId"], "mode": "planned", "at": running["createdTime"]}, "next": None}
    extension.entities[("plan_claim", "demo")] = json.dumps(state) if as_text else state
    settings = Settings(credential="simulator", approval_signing_key="k" * 32)
    api = Api(settings=settings, plans=load_plans(ROOT / "plans"))

    async def holders(client: df.DurableOrchestrationClient) -> tuple[Any, Any]:
        paged = PagedClient(client)
        demo = api.plans["demo"]
        found = await api._holder(paged, demo)
        del extension.entities[("plan_claim", "demo")]
        return found, await api._holder(paged, demo)

    (holder, stale), (none, _) = _with_extension(extension, holders)
    assert holder is not None and holder.run_id == running["instanceId"] and stale == []
    assert none is None

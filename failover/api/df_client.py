"""df's durable client as the handlers need it in Azure: `get_status_all` lists every instance, not the first 100.

azure-functions-durable 1.x (1.7.0 is pinned) asks the extension's instance query once. The extension answers a page
(100 instances at most) and, when more exist, an `x-ms-continuation-token` response header; the next page is asked for
with that header on the request (Microsoft's Durable Functions HTTP API reference, "Get all instances status"). The
Python SDK does not follow it: Azure/azure-functions-durable-python#580 ("Query all instances", open, P1). Over 100
instances in the task hub - a few months of runs, drills, readiness checks and restore tests - the run list, a plan's
runs (the claim's undecided starts, the latest failover a failback reads), the evacuations a Resolved notice goes to
and the region's evacuation a start joins would each miss instances. `PagedClient` follows the token; every other call
goes to df's client unchanged. The local host's client lists every instance already (`local.engine`).

`json_value`: payloads df's client may return as JSON text rather than decoded (an instance's input: df's `start_new`
posts `json.dumps` output through aiohttp's `json=`, so the extension keeps it as a string; an entity's state).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

CONTINUATION = "x-ms-continuation-token"
# The extension adds the header to every answer, with the next token: empty after the last page (its HttpApiHandler),
# base64 "null" in one version (azure-functions-durable-extension#1174)
_LAST_PAGE = {"", "bnVsbA=="}
PAGES_MAX = 10_000  # 1,000,000 instances at 100 a page: a token that never ends cannot loop forever


class PagedClient:
    """df's `DurableOrchestrationClient` with a `get_status_all` that follows continuation tokens."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def get_status_all(self) -> list[DurableOrchestrationStatus]:
        base = self._client._orchestration_bindings.rpc_base_url
        if not base:  # Functions 1.x bindings: df's own query
            return list(await self._client.get_status_all())
        url = f"{base}instances/"
        statuses: list[DurableOrchestrationStatus] = []
        token: str | None = None
        seen: set[str] = set()
        async with aiohttp.ClientSession() as session:
            for _ in range(PAGES_MAX):
                async with session.get(url, headers={CONTINUATION: token} if token else {}) as response:
                    if response.status != 200:  # df's own message for the same answer
                        raise Exception(f"The operation failed with an unexpected status code {response.status}")
                    page = await response.json(content_type=None) or []
                    token = response.headers.get(CONTINUATION)
                statuses.extend(DurableOrchestrationStatus.from_json(item) for item in page)
                if token is None or token in _LAST_PAGE or token in seen:
                    break
                seen.add(token)
        return statuses


def json_value(value: Any) -> Any:
    """A value df's client returns as the extension answered it: JSON already decoded, or (a host may keep a payload as
    text: an entity's state, an instance's input) that JSON as a string, decoded here. Other text stays as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value

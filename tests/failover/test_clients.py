"""The SDK clients' HTTP transport, against the simulator over HTTPS: connections are kept for the threads
that use one client, the proxy environment is read once per host and still honoured, ~/.netrc is never read.
Other packages are used through their public surface, but for one pinned private import (Event Grid)."""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests.sessions
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import RequestsTransport

from failover import clients as clients_module
from failover.clients import HTTP_POOL_MAXSIZE, ClientFactory, _ArmSession
from failover.settings import Settings
from local.paths import ROOT
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import DEMO_AVD_RG, DEMO_HOST_POOL, SUBSCRIPTION_ID

THREADS = 24  # more than requests' default pool of 10


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(seed_demo_estate(Estate(EstateConfig()), vms=10, sessions=30)).start()
    yield simulator
    simulator.stop()


def _factory(sim: Simulator) -> ClientFactory:
    return ClientFactory(Settings(arm_endpoint=sim.url, ca_bundle=sim.ca_bundle, credential="simulator"))


def _pool(client: Any, url: str) -> Any:
    """The urllib3 pool the client's calls to `url` went through (its key carries the TLS settings)."""
    transport = client._client._pipeline._transport
    assert isinstance(transport, RequestsTransport) and isinstance(transport.session, _ArmSession)
    adapter: Any = transport.session.get_adapter(url)
    pools = adapter.poolmanager.pools
    (key,) = pools.keys()
    return pools[key]


def _concurrent_gets(client: Any, rounds: int) -> None:
    """`rounds` times, THREADS calls on one client at once (a barrier makes them overlap)."""

    def get(barrier: threading.Barrier) -> None:
        barrier.wait(timeout=10)
        client.host_pools.get(DEMO_AVD_RG, DEMO_HOST_POOL)

    for _ in range(rounds):
        barrier = threading.Barrier(THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(get, [barrier] * THREADS))


def test_concurrent_calls_reuse_their_connections(sim: Simulator) -> None:
    """With requests' default pool (10), every call beyond the 10th opened a new TLS connection and dropped
    it afterwards: 3 rounds of 24 threads made about 10 + 3 x 14 connections. Kept, they are at most 24."""
    client = _factory(sim).desktop_virtualization(SUBSCRIPTION_ID)
    _concurrent_gets(client, rounds=3)
    pool = _pool(client, sim.url)
    assert pool.pool.maxsize == HTTP_POOL_MAXSIZE
    assert 1 <= pool.num_connections <= THREADS
    assert pool.num_requests == 3 * THREADS


def test_netrc_is_never_read(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", lambda url, *a: read.append(url))
    _factory(sim).desktop_virtualization(SUBSCRIPTION_ID).host_pools.get(DEMO_AVD_RG, DEMO_HOST_POOL)
    assert read == []


def test_proxy_environment_is_read_once_per_host_and_honoured(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []
    real = clients_module.get_environ_proxies

    def lookup(url: str, no_proxy: str | None = None) -> dict[str, str]:
        looked_up.append(url)
        return real(url, no_proxy)

    monkeypatch.setattr(clients_module, "get_environ_proxies", lookup)
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = _factory(sim).desktop_virtualization(SUBSCRIPTION_ID)
    for _ in range(5):
        client.host_pools.get(DEMO_AVD_RG, DEMO_HOST_POOL)
    assert len(looked_up) == 1  # five calls, one host: one look-up

    # Without the exception, a new client goes through the proxy (a closed port here): the setting is honoured.
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    proxied = ClientFactory(
        Settings(arm_endpoint=sim.url, ca_bundle=sim.ca_bundle, credential="simulator", time_scale=1000)
    ).desktop_virtualization(SUBSCRIPTION_ID)
    with pytest.raises(ServiceRequestError):
        proxied.host_pools.get(DEMO_AVD_RG, DEMO_HOST_POOL)


def test_closing_a_client_closes_its_connections(sim: Simulator) -> None:
    """The transport owns the session it is given: closing the client closes the session's pools."""
    client = _factory(sim).desktop_virtualization(SUBSCRIPTION_ID)
    client.host_pools.get(DEMO_AVD_RG, DEMO_HOST_POOL)
    transport = client._client._pipeline._transport
    adapter: Any = transport.session.get_adapter(sim.url)
    assert len(adapter.poolmanager.pools) == 1
    client.close()
    assert transport.session is None and len(adapter.poolmanager.pools) == 0


# Private modules of third-party packages the service imports, each with the test that pins it (fails when an
# upgrade moves it or makes it unnecessary). Everything else goes through the packages' public surface.
PINNED_PRIVATE_IMPORTS = {"azure.eventgrid._legacy": "test_event_grid_basic_topics_need_the_legacy_publisher"}
FIRST_PARTY = ("failover", "activities", "orchestrations", "local", "simulator", "function_app")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name.startswith("_"))
    return found


def test_no_private_imports_of_other_packages() -> None:
    """The service's code imports other packages' public modules only (issue 22): a private one (`_name`)
    changes without notice in any release."""
    sources = [ROOT / "function_app.py"] + [
        path
        for package in ("failover", "activities", "orchestrations", "local")
        for path in (ROOT / package).rglob("*.py")
    ]
    private = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sources
        for name in _imports(path)
        if not name.startswith(FIRST_PARTY)
        and any(part.startswith("_") and not part.startswith("__") for part in name.split("."))
        and not any(name == pinned or name.startswith(pinned + ".") for pinned in PINNED_PRIVATE_IMPORTS)
    }
    assert not private, sorted(private)


def test_event_grid_basic_topics_need_the_legacy_publisher(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why failover.clients imports azure.eventgrid._legacy (pinned): the public EventGridPublisherClient of
    azure-eventgrid 4.22.1 drops every option of a basic-topic client: here the CA bundle, so the simulator's
    certificate is refused. The factory's publisher, the legacy one, takes them and the event arrives.

    When the first assertion fails, the public client passes options on: use it and drop the private import.
    When the import fails, an upgrade moved the legacy client: find the basic-topic publisher anew."""
    from azure.core.credentials import AzureKeyCredential
    from azure.core.messaging import CloudEvent
    from azure.eventgrid import EventGridPublisherClient
    from azure.eventgrid._legacy import EventGridPublisherClient as LegacyPublisher

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(RequestsTransport, "sleep", lambda self, seconds: None)  # the public client's retries
    endpoint = f"{sim.url}/eventgrid/api/events"
    key = AzureKeyCredential(sim.estate.config.eventgrid_key)
    public = EventGridPublisherClient(endpoint, key, connection_verify=sim.ca_bundle, retry_total=0)
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        public.send([CloudEvent(source="/tests", type="Failover.Test")])

    settings = Settings(
        arm_endpoint=sim.url,
        ca_bundle=sim.ca_bundle,
        credential="simulator",
        eventgrid_endpoint=endpoint,
        eventgrid_key=sim.estate.config.eventgrid_key,
    )
    publisher = ClientFactory(settings).event_grid()
    assert isinstance(publisher.client, LegacyPublisher)
    event = CloudEvent(source="/tests", type="Failover.Test", data={"n": 1})
    publisher.send([event])
    assert [(e["id"], e["type"], e["data"]) for e in sim.estate.events] == [(event.id, "Failover.Test", {"n": 1})]

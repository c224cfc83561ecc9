"""The SDK clients' HTTP transport, against the simulator over HTTPS: connections are kept for the threads
that use one client, the proxy environment is read once per host and still honoured, ~/.netrc is never read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests.sessions
from azure.core.exceptions import ServiceRequestError

from failover import clients as clients_module
from failover.clients import HTTP_POOL_MAXSIZE, ClientFactory, PooledRequestsTransport
from failover.settings import Settings
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
    assert isinstance(transport, PooledRequestsTransport)
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

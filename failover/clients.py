"""The one factory for Azure SDK clients: credential, base URL, CA bundle and retry policy in one place.

Production: DefaultAzureCredential (managed identity) against management.azure.com.
Local: the simulator's base URL, its throwaway CA (`connection_verify`), and a static token.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from azure.core.credentials import AccessToken, AccessTokenInfo, AzureKeyCredential, TokenCredential
from azure.core.pipeline.transport import RequestsTransport
from requests import PreparedRequest, Session
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies
from urllib3.util.retry import Retry

from failover.retry import throttle_gate
from failover.settings import Settings

# Each SDK is imported by the method that builds its client, when first used: importing them all here cost
# about 1 s of every process start (the CLI, a cold Functions worker; docs/performance.md, issue 22).
if TYPE_CHECKING:
    from azure.core.messaging import CloudEvent
    from azure.eventgrid._legacy import EventGridPublisherClient as BasicTopicPublisher
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.desktopvirtualization import DesktopVirtualizationMgmtClient
    from azure.mgmt.dns import DnsManagementClient
    from azure.mgmt.netapp import NetAppManagementClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient
    from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
    from azure.mgmt.sql import SqlManagementClient
    from azure.mgmt.storage import StorageManagementClient
    from azure.mgmt.trafficmanager import TrafficManagerManagementClient
    from azure.monitor.query import LogsQueryClient


class SimulatorCredential:
    """A TokenCredential for the simulator: a fixed bearer token it accepts and Azure would refuse."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("simulator-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("simulator-token", int(time.time()) + 3600)

    def close(self) -> None:
        return None


# Connections each client keeps open per host. requests keeps 10 by default: with more threads than that on
# one client (activities run concurrently, each logging off `logoff_concurrency` sessions at a time) every
# extra connection was dropped after its call and the next call paid a new TLS handshake (27% of the
# calls in `failover bench --sessions 1500`; docs/performance.md). Sized for the hosts' concurrency:
# 20 activities (host.json) x up to 8 log-offs, and the local engine's 16 activities.
HTTP_POOL_MAXSIZE = 256


class _BearerOnly(AuthBase):
    """Session-level auth that leaves the request alone: azure-core's bearer token policy authenticates.

    With no session auth, requests looks up ~/.netrc on every request (two file checks per call) and a
    matching entry would replace the bearer token with Basic auth."""

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        return request


class _ArmSession(Session):
    """A requests session that reads the proxy environment once per host, not on every request.

    requests (trust_env) scans the whole environment twice per request for *_proxy variables: 15% of the
    CPU of the log-off path in the profile (docs/performance.md). The answer is the same for every call to
    one host, so it is kept per (scheme, host, no_proxy); REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are still read
    per request, as requests does."""

    def __init__(self) -> None:
        super().__init__()
        self.auth = _BearerOnly()
        self._proxies: dict[tuple[str, str, str | None], dict[str, str]] = {}
        self._proxies_lock = threading.Lock()

    def _environ_proxies(self, url: str, no_proxy: str | None) -> dict[str, str]:
        scheme, _, rest = url.partition("://")
        key = (scheme.lower(), rest.split("/", 1)[0].lower(), no_proxy)
        found = self._proxies.get(key)
        if found is None:
            found = get_environ_proxies(url, no_proxy=no_proxy)
            with self._proxies_lock:
                self._proxies[key] = found
        return found

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        # requests.Session.merge_environment_settings (2.32), with the proxy lookup above.
        if self.trust_env:
            proxies = {} if proxies is None else proxies
            for key, value in self._environ_proxies(url, proxies.get("no_proxy")).items():
                proxies.setdefault(key, value)
            if verify is True or verify is None:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }


def pooled_transport(**options: Any) -> RequestsTransport:
    """azure-core's requests transport (its public constructor) on a session of ours: a connection pool sized
    for our concurrency (HTTP_POOL_MAXSIZE) and the proxy environment read once per host (`_ArmSession`).

    The session is set up as azure-core sets up one it makes itself: no urllib3 retries (azure-core's
    RetryPolicy retries), proxies and CA bundle from the environment (`trust_env`, which is what
    `use_env_settings` sets on a session the transport makes; with a session given it is not read). A plain
    HTTPAdapter: azure-core's own (private) adapter differs only in its upload block size, set through
    `get_connection`, which requests no longer calls since 2.32. The transport owns the session: closing the
    client closes its connections, as before."""
    session = _ArmSession()
    session.trust_env = True
    adapter = HTTPAdapter(
        pool_maxsize=HTTP_POOL_MAXSIZE, max_retries=Retry(total=False, redirect=False, raise_on_status=False)
    )
    for prefix in ("http://", "https://"):
        session.mount(prefix, adapter)
    return RequestsTransport(session=session, session_owner=True, **options)


class EventPublisher:
    """Sends CloudEvents to an Event Grid basic topic (POST {endpoint}?api-version=2018-01-01)."""

    def __init__(self, client: BasicTopicPublisher) -> None:
        self.client = client

    def send(self, events: list[CloudEvent]) -> None:
        self.client.send(events)


class ClientFactory:
    """Builds (and caches) SDK clients for one Settings value."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._credential: TokenCredential | None = None

    def credential(self) -> TokenCredential:
        if self._credential is None:
            if self.settings.credential == "simulator":
                self._credential = SimulatorCredential()
            else:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential(
                    managed_identity_client_id=self.settings.managed_identity_client_id
                )
        return self._credential

    def _common(self) -> dict[str, Any]:
        scale = self.settings.time_scale
        options: dict[str, Any] = {
            # azure-core's RetryPolicy (failover.retry, layer 1): up to 5 retries on 408/429/5xx and
            # connection errors, honouring Retry-After; backoff 0.8 s doubling, at most 30 s (scaled
            # down with simulated time). Then the process-wide ThrottleGate (layer 2) paces throttled lanes.
            "retry_total": 5,
            "retry_backoff_factor": 0.8 / scale,
            "retry_backoff_max": 30 / scale,
            "per_retry_policies": [throttle_gate()],
        }
        if self.settings.ca_bundle:
            options["connection_verify"] = self.settings.ca_bundle
        # One transport per client (its own session and pool); connection options go to the transport.
        options["transport"] = pooled_transport(
            **({"connection_verify": self.settings.ca_bundle} if self.settings.ca_bundle else {})
        )
        return options

    def _arm(self) -> dict[str, Any]:
        return {"base_url": self.settings.arm_endpoint, **self._common()}

    @lru_cache(maxsize=16)  # noqa: B019 - one factory per process; clients are thread-safe and reused
    def desktop_virtualization(self, subscription_id: str) -> DesktopVirtualizationMgmtClient:
        from azure.mgmt.desktopvirtualization import DesktopVirtualizationMgmtClient

        return DesktopVirtualizationMgmtClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def site_recovery(self, subscription_id: str) -> SiteRecoveryManagementClient:
        from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

        return SiteRecoveryManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def dns(self, subscription_id: str) -> DnsManagementClient:
        from azure.mgmt.dns import DnsManagementClient

        return DnsManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def traffic_manager(self, subscription_id: str) -> TrafficManagerManagementClient:
        from azure.mgmt.trafficmanager import TrafficManagerManagementClient

        return TrafficManagerManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=1)  # noqa: B019
    def logs(self) -> LogsQueryClient:
        """Azure Monitor Logs (`POST {endpoint}/v1/workspaces/{id}/query`); the token audience is the endpoint."""
        from azure.monitor.query import LogsQueryClient

        options = self._common()
        if self.settings.logs_endpoint:
            options["endpoint"] = self.settings.logs_endpoint
        return LogsQueryClient(self.credential(), **options)

    @lru_cache(maxsize=16)  # noqa: B019
    def sql(self, subscription_id: str) -> SqlManagementClient:
        from azure.mgmt.sql import SqlManagementClient

        return SqlManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def storage(self, subscription_id: str) -> StorageManagementClient:
        from azure.mgmt.storage import StorageManagementClient

        return StorageManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def compute(self, subscription_id: str) -> ComputeManagementClient:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def network(self, subscription_id: str) -> NetworkManagementClient:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def netapp(self, subscription_id: str) -> NetAppManagementClient:
        from azure.mgmt.netapp import NetAppManagementClient

        return NetAppManagementClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=16)  # noqa: B019
    def backup(self, subscription_id: str) -> RecoveryServicesBackupClient:
        from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient

        return RecoveryServicesBackupClient(self.credential(), subscription_id, **self._arm())

    @lru_cache(maxsize=1)  # noqa: B019
    def event_grid(self) -> EventPublisher:
        from azure.eventgrid._legacy import EventGridPublisherClient as BasicTopicPublisher

        if not self.settings.eventgrid_endpoint:
            raise ValueError("FAILOVER_EVENTGRID_ENDPOINT is not set")
        credential: Any = (
            AzureKeyCredential(self.settings.eventgrid_key) if self.settings.eventgrid_key else self.credential()
        )
        # A private import, pinned: azure-eventgrid 4.22.1's public EventGridPublisherClient (without
        # `namespace_topic`: a basic topic) builds its inner client from endpoint and credential only, dropping
        # every other option: our transport (pooled connections), connection_verify (the simulator's CA) and the
        # retry options. That inner client is azure.eventgrid._legacy's publisher, which takes them: build it
        # directly. tests/failover/test_clients.py fails when an upgrade moves it or the public client starts
        # passing the options on (then use the public client).
        # Status events must not hold a failover up: 2 quick retries here, the run's breaker does the rest.
        options = {**self._common(), "retry_total": 2, "retry_backoff_max": 5 / self.settings.time_scale}
        return EventPublisher(BasicTopicPublisher(self.settings.eventgrid_endpoint, credential, **options))

    def https_verify(self) -> str | bool:
        """The `verify` argument for plain HTTPS calls (the Teams webhook)."""
        return self.settings.ca_bundle or True


# The SDK packages the factory's methods import (each when it first builds its client).
SDK_PACKAGES = (
    "azure.mgmt.compute",
    "azure.mgmt.desktopvirtualization",
    "azure.mgmt.dns",
    "azure.mgmt.netapp",
    "azure.mgmt.network",
    "azure.mgmt.recoveryservicesbackup",
    "azure.mgmt.recoveryservicessiterecovery",
    "azure.mgmt.sql",
    "azure.mgmt.storage",
    "azure.mgmt.trafficmanager",
    "azure.monitor.query",
    "azure.eventgrid._legacy",
)


def import_sdks() -> None:
    """Import every SDK now, for a host that would rather pay at start than in the middle of its traffic: the
    local host does before freezing its startup objects, so that an alert storm's first run does not pause
    the endpoint for the SDKs its activities import (docs/performance.md, "Start-up: imports")."""
    for name in SDK_PACKAGES:
        importlib.import_module(name)


_factories: dict[Settings, ClientFactory] = {}


def factory_for(settings: Settings) -> ClientFactory:
    """The process-wide factory for these settings (clients keep their connection pools)."""
    factory = _factories.get(settings)
    if factory is None:
        factory = _factories[settings] = ClientFactory(settings)
    return factory

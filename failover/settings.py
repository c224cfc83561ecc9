"""One typed, frozen settings object, read once at the edge (host startup) and passed down.

Every variable the service reads is named here; nothing else in the code base reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
WEBHOOK_PREFIX = "FAILOVER_WEBHOOK_"  # FAILOVER_WEBHOOK_<NAME>=<url>: Settings.webhooks["<name>"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of either host.

    `credential` is `default` (DefaultAzureCredential: managed identity in Azure) or `simulator`
    (a static bearer token the simulator accepts; refused by real Azure).
    """

    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    ca_bundle: str | None = None
    credential: str = "default"
    managed_identity_client_id: str | None = None
    eventgrid_endpoint: str | None = None
    eventgrid_key: str | None = field(default=None, repr=False)
    logs_endpoint: str | None = None  # Azure Monitor Logs query API base; None: https://api.loganalytics.io
    teams_webhook_url: str | None = field(default=None, repr=False)
    approval_signing_key: str = field(default="", repr=False)
    escalation_webhook_url: str | None = field(default=None, repr=False)
    # Custom-action webhooks (e.g. an Azure Automation runbook): name -> URL, the URL carrying its token (secret).
    # From every FAILOVER_WEBHOOK_<NAME>, keyed by <name> lower-cased. Not hashed: Settings stays hashable.
    webhooks: dict[str, str] = field(default_factory=dict, repr=False, hash=False)
    api_key: str | None = field(default=None, repr=False)  # the local host's function key (Azure has its own)
    public_base_url: str = "http://127.0.0.1:7071"
    plans_dir: str = "plans"
    time_scale: float = 1.0
    log_level: str = "INFO"
    log_json: bool = True
    # Is X-MS-CLIENT-PRINCIPAL-NAME set by the platform? In Azure only while App Service Authentication is on (the
    # platform then strips a client's own); locally the server binds to loopback. When False a request carrying it
    # is refused (a caller with the function key could name any approver).
    identity_header_trusted: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        try:
            time_scale = float(get("FAILOVER_TIME_SCALE") or "1")
        except ValueError as err:
            raise SettingsError(f"FAILOVER_TIME_SCALE must be a number: {err}") from err
        if time_scale <= 0:
            raise SettingsError("FAILOVER_TIME_SCALE must be > 0")
        in_app_service = get("WEBSITE_SITE_NAME") is not None
        auth_enabled = (get("WEBSITE_AUTH_ENABLED") or "").lower() == "true"
        credential = get("FAILOVER_CREDENTIAL") or "default"
        if credential not in ("default", "simulator"):
            raise SettingsError("FAILOVER_CREDENTIAL must be 'default' or 'simulator'")
        return cls(
            arm_endpoint=(get("FAILOVER_ARM_ENDPOINT") or DEFAULT_ARM_ENDPOINT).rstrip("/"),
            ca_bundle=get("FAILOVER_CA_BUNDLE"),
            credential=credential,
            managed_identity_client_id=get("AZURE_CLIENT_ID"),
            eventgrid_endpoint=get("FAILOVER_EVENTGRID_ENDPOINT"),
            eventgrid_key=get("FAILOVER_EVENTGRID_KEY"),
            logs_endpoint=(get("FAILOVER_LOGS_ENDPOINT") or "").rstrip("/") or None,
            teams_webhook_url=get("FAILOVER_TEAMS_WEBHOOK_URL"),
            approval_signing_key=get("FAILOVER_APPROVAL_SIGNING_KEY") or "",
            escalation_webhook_url=get("FAILOVER_ESCALATION_WEBHOOK_URL"),
            webhooks={
                name[len(WEBHOOK_PREFIX) :].lower(): value
                for name, value in env.items()
                if name.upper().startswith(WEBHOOK_PREFIX) and len(name) > len(WEBHOOK_PREFIX) and value
            },
            api_key=get("FAILOVER_API_KEY"),
            public_base_url=(get("FAILOVER_PUBLIC_BASE_URL") or "http://127.0.0.1:7071").rstrip("/"),
            plans_dir=get("FAILOVER_PLANS_DIR") or "plans",
            time_scale=time_scale,
            log_level=get("FAILOVER_LOG_LEVEL") or "INFO",
            log_json=(get("FAILOVER_LOG_FORMAT") or "json") == "json",
            # App Service sets WEBSITE_SITE_NAME in every app, and WEBSITE_AUTH_ENABLED=True while its
            # Authentication is on (as Microsoft.Identity.Web's AppServicesAuthenticationInformation reads it)
            identity_header_trusted=auth_enabled if in_app_service else True,
        )

    def plans_path(self) -> Path:
        return Path(self.plans_dir)


_current: Settings | None = None


def configure(settings: Settings) -> None:
    """Set the process's settings. Called once by each host at startup (and by tests)."""
    global _current
    _current = settings


def current() -> Settings:
    """The settings the host configured. Activities and handlers read them through this."""
    if _current is None:
        raise SettingsError("settings were not configured: the host must call failover.settings.configure()")
    return _current


# ---- Every name, declared once: tests/infra/test_settings.py holds the Bicep (infra/app/function.bicep) to it ----

#: Each variable `Settings.from_env` reads, with the field it fills. `FAILOVER_WEBHOOK_<NAME>` fills `webhooks`.
ENV_SETTINGS: dict[str, str] = {
    "FAILOVER_ARM_ENDPOINT": "arm_endpoint",
    "FAILOVER_CA_BUNDLE": "ca_bundle",
    "FAILOVER_CREDENTIAL": "credential",
    "AZURE_CLIENT_ID": "managed_identity_client_id",
    "FAILOVER_EVENTGRID_ENDPOINT": "eventgrid_endpoint",
    "FAILOVER_EVENTGRID_KEY": "eventgrid_key",
    "FAILOVER_LOGS_ENDPOINT": "logs_endpoint",
    "FAILOVER_TEAMS_WEBHOOK_URL": "teams_webhook_url",
    "FAILOVER_APPROVAL_SIGNING_KEY": "approval_signing_key",
    "FAILOVER_ESCALATION_WEBHOOK_URL": "escalation_webhook_url",
    WEBHOOK_PREFIX: "webhooks",
    "FAILOVER_API_KEY": "api_key",
    "FAILOVER_PUBLIC_BASE_URL": "public_base_url",
    "FAILOVER_PLANS_DIR": "plans_dir",
    "FAILOVER_TIME_SCALE": "time_scale",
    "FAILOVER_LOG_LEVEL": "log_level",
    "FAILOVER_LOG_FORMAT": "log_json",
    "WEBSITE_SITE_NAME": "identity_header_trusted",
    "WEBSITE_AUTH_ENABLED": "identity_header_trusted",
}

#: Set by the App Service platform itself, never by the Bicep: the app is in App Service, and whether App Service
#: Authentication is on (then X-MS-CLIENT-PRINCIPAL-NAME comes from the platform).
PLATFORM_SETTINGS: dict[str, str] = {
    "WEBSITE_SITE_NAME": "the app's name, set in every App Service app",
    "WEBSITE_AUTH_ENABLED": "True while App Service Authentication is on",
}

#: Read in Azure outside `Settings`: by the Functions host (binding expressions) or at the edge by function_app.py.
AZURE_HOST_SETTINGS: dict[str, str] = {
    "FAILOVER_DRILL_SCHEDULE": "the drill timer's schedule, %FAILOVER_DRILL_SCHEDULE% in failover/routes.py",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "failover.telemetry: OpenTelemetry export to Application Insights",
}

#: Used only by the local host, demos or tests: the Bicep must not set them.
LOCAL_ONLY_SETTINGS: dict[str, str] = {
    "FAILOVER_CA_BUNDLE": "the simulator's throwaway CA; Azure endpoints use public TLS",
    "FAILOVER_EVENTGRID_KEY": "the topic's keys are disabled in Azure; the identity sends (EventGrid Data Sender)",
    "FAILOVER_API_KEY": "the local host's function key; Azure Functions has its own keys",
    "FAILOVER_TIME_SCALE": "compresses plan durations for demos and tests; Azure runs at the default, 1",
}

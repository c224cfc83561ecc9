"""One typed, frozen settings object, read once at the edge (host startup) and passed down.

Every variable the service reads is named here; nothing else in the code base reads the environment.
`Settings` is a pydantic-settings model: `Settings.from_env()` reads the environment through its
`EnvSettingsSource` (the `FAILOVER_` prefix, empty values ignored); `Settings(...)` holds only what it is given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
PREFIX = "FAILOVER_"
WEBHOOK_PREFIX = "FAILOVER_WEBHOOK_"  # FAILOVER_WEBHOOK_<NAME>=<url>: Settings.webhooks["<name>"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Runtime configuration of either host.

    `credential` is `default` (DefaultAzureCredential: managed identity in Azure) or `simulator`
    (a static bearer token the simulator accepts; refused by real Azure).
    """

    # Names are matched ignoring case (pydantic-settings' default); an empty value is unset.
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, frozen=True, extra="forbid")

    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    ca_bundle: str | None = None
    credential: Literal["default", "simulator"] = "default"
    managed_identity_client_id: str | None = Field(default=None, validation_alias="AZURE_CLIENT_ID")
    eventgrid_endpoint: str | None = None
    eventgrid_key: str | None = Field(default=None, repr=False)
    logs_endpoint: str | None = None  # Azure Monitor Logs query API base; None: https://api.loganalytics.io
    teams_webhook_url: str | None = Field(default=None, repr=False)
    approval_signing_key: str = Field(default="", repr=False)
    # Keys the approval signing key replaced, still accepted when verifying an approval link or a callback URL (never
    # used to sign): a JSON list of strings, e.g. ["old-key"], so one Key Vault secret holds them (docs/approvals.md).
    approval_signing_keys_previous: Annotated[tuple[str, ...], NoDecode] = Field(default=(), repr=False)
    escalation_webhook_url: str | None = Field(default=None, repr=False)
    # Custom-action webhooks (e.g. an Azure Automation runbook): name -> URL, the URL carrying its token (secret).
    # From every FAILOVER_WEBHOOK_<NAME>, keyed by <name> lower-cased (_Environment below).
    webhooks: dict[str, str] = Field(default_factory=dict, repr=False)
    api_key: str | None = Field(default=None, repr=False)  # the local host's function key (Azure has its own)
    public_base_url: str = "http://127.0.0.1:7071"
    plans_dir: str = "plans"
    time_scale: float = Field(default=1.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = Field(default=True, validation_alias="FAILOVER_LOG_FORMAT")  # `json`, or anything else: text
    # Is X-MS-CLIENT-PRINCIPAL-NAME set by the platform? In Azure only while App Service Authentication is on (the
    # platform then strips a client's own); locally the server binds to loopback. When False a request carrying it
    # is refused (a caller with the function key could name any approver). From WEBSITE_* (_Environment below).
    identity_header_trusted: bool = True
    # A Service Health incident matching two or more plans of one primary region starts one evacuation of them
    # (one card, the in-flight cap shared) instead of a run per plan (docs/runbook.md, "Evacuate a region").
    evacuate_on_incident: bool = True
    # VMs failing over at once in an evacuation, per Recovery Services vault and per recovery region.
    evacuation_in_flight_cap: int = Field(default=100, ge=1, le=1000)

    @field_validator("arm_endpoint", "public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("logs_endpoint")
    @classmethod
    def _endpoint_or_none(cls, value: str | None) -> str | None:
        return (value or "").rstrip("/") or None

    @field_validator("approval_signing_keys_previous", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            keys = json.loads(value)
        except ValueError:
            keys = None
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise ValueError('should be a JSON list of strings, e.g. ["old-key"]')
        return [key for key in keys if key]

    @field_validator("log_json", mode="before")
    @classmethod
    def _log_format(cls, value: Any) -> Any:
        return value == "json" if isinstance(value, str) else value

    def __hash__(self) -> int:  # frozen, so hashable (the client factory's key); a dict field hashed by its items
        return hash(tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in self.__dict__.values()))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`Settings(...)` holds what it is given (and the defaults): only `from_env` reads an environment."""
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of `env` (default: this process's environment); SettingsError names a malformed variable."""
        try:
            return cls(**_Environment(cls, os.environ if env is None else env)())
        except ValidationError as err:
            raise SettingsError(
                "; ".join(f"{_variable(str(error['loc'][0]))}: {error['msg']}" for error in err.errors())
            ) from err

    def approval_verification_keys(self) -> tuple[str, ...]:
        """The keys an approval link or a callback URL may be signed with, oldest to newest: the previous keys, then
        the signing key (`failover.approval.verify_claims` tries the newest first)."""
        return tuple(key for key in (*self.approval_signing_keys_previous, self.approval_signing_key) if key)

    def plans_path(self) -> Path:
        return Path(self.plans_dir)


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping, plus the two fields no one variable holds."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self.environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            name.lower(): value for name, value in self.environ.items() if not (self.env_ignore_empty and value == "")
        }

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in ("webhooks", "identity_header_trusted"):
            return None, field_name, False  # derived in __call__, never from FAILOVER_WEBHOOKS or the like
        return super().get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        values["webhooks"] = {
            name[len(WEBHOOK_PREFIX) :].lower(): value
            for name, value in self.env_vars.items()
            if name.startswith(WEBHOOK_PREFIX.lower()) and len(name) > len(WEBHOOK_PREFIX)
        }
        # App Service sets WEBSITE_SITE_NAME in every app, and WEBSITE_AUTH_ENABLED=True while its
        # Authentication is on (as Microsoft.Identity.Web's AppServicesAuthenticationInformation reads it)
        if self.env_vars.get("website_site_name"):
            values["identity_header_trusted"] = (self.env_vars.get("website_auth_enabled") or "").lower() == "true"
        return values


def _variable(key: str) -> str:
    """The variable behind a validation error's location: the alias a field is read from, or the prefixed name."""
    return key if key.isupper() else PREFIX + key.upper()


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
    "FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS": "approval_signing_keys_previous",
    "FAILOVER_ESCALATION_WEBHOOK_URL": "escalation_webhook_url",
    WEBHOOK_PREFIX: "webhooks",
    "FAILOVER_API_KEY": "api_key",
    "FAILOVER_PUBLIC_BASE_URL": "public_base_url",
    "FAILOVER_PLANS_DIR": "plans_dir",
    "FAILOVER_TIME_SCALE": "time_scale",
    "FAILOVER_LOG_LEVEL": "log_level",
    "FAILOVER_LOG_FORMAT": "log_json",
    "FAILOVER_EVACUATE_ON_INCIDENT": "evacuate_on_incident",
    "FAILOVER_EVACUATION_IN_FLIGHT_CAP": "evacuation_in_flight_cap",
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

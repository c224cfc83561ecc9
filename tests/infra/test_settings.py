"""One settings object, every setting defined by the Bicep: what the code reads is what Azure gets."""

from __future__ import annotations

import json
import re
from typing import Any

import azure.durable_functions as df
import pytest

from failover import routes, telemetry
from failover.settings import (
    AZURE_HOST_SETTINGS,
    ENV_SETTINGS,
    LOCAL_ONLY_SETTINGS,
    PLATFORM_SETTINGS,
    PREFIX,
    WEBHOOK_PREFIX,
    Settings,
    SettingsError,
)
from local.server import MAX_REQUEST
from local.stack import ROOT
from tests.infra.bicep import INFRA, name_value_pairs, parse, resources

FUNCTION = INFRA / "app" / "function.bicep"
KEY_VAULT_REFERENCE = re.compile(
    r"^@Microsoft\.KeyVault\(SecretUri=\$\{secretsUri\}/[a-z0-9-]+(\$\{[^}]+\})?[a-z0-9-]*/\)$"
)


#: A value each declared variable takes, other than its default (an URL where any text does).
SAMPLES = {
    "FAILOVER_CREDENTIAL": "simulator",
    "FAILOVER_TIME_SCALE": "7",
    "FAILOVER_LOG_FORMAT": "text",
    "FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS": '["old-key"]',
    "FAILOVER_EVACUATE_ON_INCIDENT": "false",
    "FAILOVER_EVACUATION_IN_FLIGHT_CAP": "60",
    WEBHOOK_PREFIX: "https://automation.invalid/webhooks?token=t",
}


def app_settings() -> dict[str, Any]:
    """The Function App's app settings: the name/value pairs of the variables its appSettings concatenates."""
    doc = parse(FUNCTION)
    (site,) = [body for _, _, body in resources(FUNCTION, "Microsoft.Web/sites")]
    concat = site["properties"]["siteConfig"]["appSettings"]["function"]
    assert concat["type"] == "concat"
    settings: dict[str, Any] = {}
    for variable in concat["parameters"].values():
        found = name_value_pairs(doc["variables"][variable])
        assert found, f"appSettings concatenates {variable}, which holds no setting"
        settings.update(found)
    return settings


def defined(name: str, settings: dict[str, Any]) -> bool:
    if name == WEBHOOK_PREFIX:
        return any(key.startswith(WEBHOOK_PREFIX + "${") for key in settings)
    return name in settings


PREVIOUS_KEYS = "FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS"
NOT_A_LIST = 'should be a JSON list of strings, e.g. ["old-key"]'


class TestDeclaredNames:
    def test_the_declaration_is_what_from_env_reads(self) -> None:
        """Each name in ENV_SETTINGS fills the field it is declared to fill; a name not declared fills nothing."""
        default = Settings.from_env({})
        app_service = {"WEBSITE_SITE_NAME": "func-failover"}  # WEBSITE_AUTH_ENABLED counts in App Service only
        for name, field in ENV_SETTINGS.items():
            base = app_service if name == "WEBSITE_AUTH_ENABLED" else {}
            value = "True" if name == "WEBSITE_AUTH_ENABLED" else SAMPLES.get(name, "https://sample.invalid/x")
            env = {**base, (name + "X" if name == WEBHOOK_PREFIX else name): value}
            changed = {
                key
                for key in Settings.model_fields
                if getattr(Settings.from_env(env), key) != getattr(Settings.from_env(base), key)
            }
            assert changed == {field}, name
        # Every field's own name, with the prefix or without, in either case, for the fields read from another name.
        others = {
            spelling: '{"a": "b"}' if field == "webhooks" else "false"
            for field in Settings.model_fields
            if PREFIX + field.upper() not in ENV_SETTINGS
            for spelling in (PREFIX + field.upper(), field, field.upper())
        }
        assert len(others) == 12  # managed_identity_client_id, webhooks, log_json, identity_header_trusted
        assert Settings.from_env(others) == default

    def test_malformed_values_name_the_variable(self) -> None:
        for env, message in [
            ({"FAILOVER_TIME_SCALE": "fast"}, "FAILOVER_TIME_SCALE: Input should be a valid number"),
            ({"FAILOVER_TIME_SCALE": "0"}, "FAILOVER_TIME_SCALE: Input should be greater than 0"),
            ({"FAILOVER_CREDENTIAL": "token"}, "FAILOVER_CREDENTIAL: Input should be 'default' or 'simulator'"),
            *(
                ({"FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS": value}, f"{PREVIOUS_KEYS}: Value error, {NOT_A_LIST}")
                for value in ("old-key", "old-1,old-2", '["old", 1]', '{"old": "key"}')
            ),
        ]:
            with pytest.raises(SettingsError, match=re.escape(message)):
                Settings.from_env(env)

    def test_previous_signing_keys(self) -> None:
        """A JSON list (one Key Vault secret holds it); empty entries are dropped; the signing key verifies last."""
        env = {"FAILOVER_APPROVAL_SIGNING_KEY": "new", "FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS": '["a,b", "", "c"]'}
        settings = Settings.from_env(env)
        assert settings.approval_signing_keys_previous == ("a,b", "c")
        assert settings.approval_verification_keys() == ("a,b", "c", "new")
        assert Settings.from_env({"FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS": "[]"}).approval_verification_keys() == ()
        assert "a,b" not in repr(settings)

    def test_each_name_fills_a_settings_field(self) -> None:
        assert set(ENV_SETTINGS.values()) == set(Settings.model_fields)

    def test_host_settings_cover_the_binding_expressions(self) -> None:
        """Every %NAME% a trigger binding resolves from app settings is declared (and so checked below)."""
        app = df.DFApp()
        app.register_functions(routes.bp)
        text = json.dumps([json.loads(f.get_function_json()) for f in app.get_functions()])
        expressions = set(re.findall(r"%([A-Za-z0-9_]+)%", text))
        assert expressions, "no binding expression found: the drill timer's schedule should be one"
        assert expressions <= set(AZURE_HOST_SETTINGS)

    def test_telemetry_reads_a_declared_name(self) -> None:
        assert telemetry.CONNECTION_STRING in AZURE_HOST_SETTINGS


class TestBicepDefinesThem:
    def test_every_setting_the_code_reads_in_azure(self) -> None:
        settings = app_settings()
        wanted = (set(ENV_SETTINGS) | set(AZURE_HOST_SETTINGS)) - set(LOCAL_ONLY_SETTINGS) - set(PLATFORM_SETTINGS)
        missing = sorted(name for name in wanted if not defined(name, settings))
        assert not missing, f"infra/app/function.bicep does not set {missing}"

    def test_no_local_only_setting(self) -> None:
        """The simulator's CA, a topic key, the local function key or a time scale never reach Azure."""
        settings = app_settings()
        assert not [name for name in LOCAL_ONLY_SETTINGS if defined(name, settings)]
        assert settings["FAILOVER_CREDENTIAL"] == "default"

    @pytest.mark.parametrize(
        "field", [name for name, f in Settings.model_fields.items() if not f.repr and name != "eventgrid_key"]
    )
    def test_secrets_are_key_vault_references(self, field: str) -> None:
        """A secret field (repr=False) is set from Key Vault in Azure, never as a value in the template."""
        names = [name for name, target in ENV_SETTINGS.items() if target == field and name not in LOCAL_ONLY_SETTINGS]
        settings = app_settings()
        for name in names:
            values = [v for k, v in settings.items() if k == name or (name == WEBHOOK_PREFIX and k.startswith(name))]
            assert values, name
            for value in values:
                assert KEY_VAULT_REFERENCE.match(value), f"{name} = {value!r} is not a Key Vault reference"

    def test_identity_based_host_storage(self) -> None:
        """No connection string with a key: AzureWebJobsStorage is the managed identity's."""
        settings = app_settings()
        assert "AzureWebJobsStorage" not in settings
        assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
        assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
        assert settings["AZURE_CLIENT_ID"] == "identityClientId"
        # Flex Consumption takes the runtime from functionAppConfig and refuses these.
        assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} & set(settings)

    def test_request_body_limit_matches_the_local_host(self) -> None:
        assert int(app_settings()["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"]) == MAX_REQUEST

    def test_durable_task_scheduler_connection(self) -> None:
        """The DTS override names a connection setting the Bicep also defines, with identity auth."""
        settings = app_settings()
        name = settings["AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName"]
        assert settings["AzureFunctionsJobHost__extensions__durableTask__storageProvider__type"] == "azureManaged"
        assert "Authentication=ManagedIdentity" in settings[name]
        host = json.loads((ROOT / "host.json").read_text())
        assert "storageProvider" not in host["extensions"]["durableTask"], "host.json keeps the default backend"

"""OpenTelemetry export to Application Insights, for the Azure host only.

`configure_telemetry` is called by `function_app.py` after logging is configured. With an Application Insights
connection string (the Bicep sets APPLICATIONINSIGHTS_CONNECTION_STRING) it starts the Azure Monitor
OpenTelemetry distro, authenticated with the managed identity (the component refuses keys), and adds one
structlog processor that hands every event, with its bound fields (`instance_id`, `plan`, `step`, ...), through
structlog's stdlib integration to the stdlib logger `failover.events`, which the distro exports: in Application
Insights each event is a trace whose custom dimensions carry the run's instance id. Without a connection string
(local runs, tests) nothing is imported and nothing changes; `azure.monitor.opentelemetry` is imported only on
that Azure path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from structlog.stdlib import LOG_KWARG_NAMES, BoundLogger, filter_by_level, render_to_log_kwargs

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
LOGGER_NAME = "failover.events"

# LogRecord's own attributes: an `extra` key among them makes logging raise, so such fields are renamed.
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) - set(LOG_KWARG_NAMES) | {"message", "asctime"}


def _attribute(value: Any) -> str | bool | int | float:
    """An OpenTelemetry attribute value: primitives as they are, anything else as JSON text."""
    if isinstance(value, str | bool | int | float):
        return value
    try:
        return json.dumps(value, default=str, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def _as_attributes(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """Fields as OpenTelemetry attributes, for `render_to_log_kwargs` to pass as `extra` (the event is the message).

    The record carries its own level and time; a field that is None is left out; `exc_info` and the like stay
    logging's own keyword arguments.
    """
    return {
        (f"failover_{key}" if key in _RESERVED else key): (
            value if key in LOG_KWARG_NAMES else str(value) if key == "event" else _attribute(value)
        )
        for key, value in event_dict.items()
        if key not in ("level", "timestamp") and (value is not None or key == "event")
    }


class ForwardToLogging:
    """A structlog processor that hands each event to a stdlib logger and returns it unchanged.

    Placed just before the renderer, so the JSON line on stderr stays as it was. The event goes through
    structlog's stdlib integration (`structlog.stdlib.BoundLogger` over the logger: `filter_by_level`, then
    `render_to_log_kwargs`): the event name is the record's message; every other field becomes a record attribute
    (an Application Insights custom dimension), so `traces | where customDimensions.instance_id == "<run id>"`
    finds a run's events.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger: BoundLogger = structlog.wrap_logger(
            logger, processors=[filter_by_level, _as_attributes, render_to_log_kwargs], wrapper_class=BoundLogger
        )

    def __call__(self, _: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        getattr(self.logger, method_name)(**event_dict)  # debug, info, warning, error or critical
        return event_dict


def forward_structlog_events(logger: logging.Logger) -> ForwardToLogging:
    """Insert a `ForwardToLogging` before structlog's renderer (the last processor); once per process."""
    processors = list(structlog.get_config()["processors"])
    for processor in processors:
        if isinstance(processor, ForwardToLogging):
            return processor
    forwarder = ForwardToLogging(logger)
    processors.insert(max(len(processors) - 1, 0), forwarder)
    structlog.configure(processors=processors)
    return forwarder


def configure_telemetry(env: Mapping[str, str], *, client_id: str | None = None) -> bool:
    """Export to Application Insights when `env` has a connection string; True when it was set up.

    `env` is the host's environment, passed by `function_app.py` (the edge); `client_id` is the user-assigned
    identity's (Settings.managed_identity_client_id), used because the component accepts Entra tokens only.
    """
    connection_string = (env.get(CONNECTION_STRING) or "").strip()
    if not connection_string:
        return False
    # Imported here, not at module level: local runs and tests never pay for (or need) the distro.
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(
        connection_string=connection_string,
        credential=ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential(),
        logger_name=LOGGER_NAME,
    )
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)  # structlog already filtered by FAILOVER_LOG_LEVEL
    logger.propagate = False  # the Functions worker's root handler would send each event a second time
    forward_structlog_events(logger)
    return True

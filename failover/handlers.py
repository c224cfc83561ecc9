"""The HTTP handlers' former home: `failover.api` holds them by resource. Kept so `from failover.handlers
import Api, ROUTES, ...` goes on working."""

from failover.api import (
    HTML_HEADERS,
    MAX_BODY,
    ROUTES,
    Api,
    DurableClient,
    Readers,
    Route,
    error_response,
    json_response,
    run_output,
)

__all__ = [
    "HTML_HEADERS",
    "MAX_BODY",
    "ROUTES",
    "Api",
    "DurableClient",
    "Readers",
    "Route",
    "error_response",
    "json_response",
    "run_output",
]

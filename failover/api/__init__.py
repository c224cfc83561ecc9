"""The HTTP API, by resource: starting runs (`runs`, `starts`), controlling them (`control`), approvals
(`approvals`), reading plans and runs (`views`); `http` holds the route table, the engine-client interface and
the envelope both hosts share. `Api` is the whole handler set both hosts register (see docs/api.md)."""

from __future__ import annotations

from dataclasses import dataclass

from failover.api.approvals import Approvals
from failover.api.control import Control
from failover.api.http import (
    HTML_HEADERS,
    MAX_BODY,
    ROUTES,
    DurableClient,
    Readers,
    Route,
    error_response,
    json_response,
    run_output,
)
from failover.api.starts import Starts
from failover.api.views import Views


@dataclass
class Api(Starts, Control, Approvals, Views):
    """The handler set: one method per route of `ROUTES` (`Route.handler`), plus the timers' entry points."""


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

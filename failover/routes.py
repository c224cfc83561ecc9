"""The HTTP routes as an Azure Functions blueprint, generated from `failover.api.ROUTES`: each route
hands its request and durable client to `failover.api.Api`, the same handler set the local server
uses. Function-level routes need a function key (`x-functions-key` header or `code` query parameter).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache

import azure.durable_functions as df
import azure.functions as func

from failover.api import ROUTES, Api, Readers, Route
from failover.api.df_client import PagedClient
from failover.plan import load_plans
from failover.settings import current

bp = df.Blueprint()

_AUTH = {"function": func.AuthLevel.FUNCTION, "anonymous": func.AuthLevel.ANONYMOUS}


_readers: list[Readers] = []  # set by the host (function_app.py): failover/ imports no activity


def use_readers(readers: Readers) -> None:
    """The Azure reads the handlers need outside a run (plan preview, readiness), from the host."""
    _readers[:] = [readers]
    api.cache_clear()


@lru_cache(maxsize=1)
def api() -> Api:
    settings = current()
    return Api(settings=settings, plans=load_plans(settings.plans_path()), readers=next(iter(_readers), None))


Handler = Callable[[func.HttpRequest, df.DurableOrchestrationClient], Awaitable[func.HttpResponse]]


def _function(route: Route) -> Handler:
    async def handler(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        return await getattr(api(), route.handler)(req, PagedClient(client))

    handler.__name__ = route.name
    handler.__qualname__ = route.name
    return handler


for _route in ROUTES:
    bp.function_name(_route.name)(
        bp.route(route=_route.path, methods=[_route.method], auth_level=_AUTH[_route.auth])(
            bp.durable_client_input(client_name="client")(_function(_route))
        )
    )


# The monthly drill (seed guidance: "conduct a test failover at least once a month"). The schedule is
# the app setting FAILOVER_DRILL_SCHEDULE (NCRONTAB, e.g. "0 0 2 1 * *": 02:00 UTC on the 1st).
@bp.function_name("drill_timer")
@bp.schedule(schedule="%FAILOVER_DRILL_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def drill_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await api().scheduled_drills(PagedClient(client))


# Readiness of every plan every 30 minutes; a change publishes Contoso.Failover.ReadinessChanged.
@bp.function_name("readiness_timer")
@bp.schedule(schedule="0 */30 * * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def readiness_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await api().scheduled_readiness(PagedClient(client))

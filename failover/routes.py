"""The HTTP routes as an Azure Functions blueprint: each route hands its request and durable client to
`failover.handlers.Api`, the same handler set the local server uses.
"""

from __future__ import annotations

from functools import lru_cache

import azure.durable_functions as df
import azure.functions as func

from failover.handlers import Api
from failover.plan import load_plans
from failover.settings import current

bp = df.Blueprint()


@lru_cache(maxsize=1)
def api() -> Api:
    settings = current()
    return Api(settings=settings, plans=load_plans(settings.plans_path()))


@bp.route(route="alerts", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def alerts(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await api().post_alert(req, client)


@bp.route(route="failovers/{instance_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def failover_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await api().get_failover(req, client)


# Approval links are opened from Teams by people signed in through App Service Authentication
# (which sets X-MS-CLIENT-PRINCIPAL-NAME); the signed token is the authorization, not a function key.
@bp.route(route="approvals/{instance_id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def approval_page(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await api().get_approval(req, client)


@bp.route(route="approvals/{instance_id}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def approval_decision(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await api().post_approval(req, client)

"""Azure Functions host: composition only. Logging, telemetry, settings, one df.DFApp, the blueprints."""

import os

import azure.durable_functions as df
import azure.functions as func

from activities import MODULES as ACTIVITY_MODULES
from activities import planning, readiness
from failover import routes
from failover.api import Readers
from failover.logs import configure_logging
from failover.process import freeze_startup_objects
from failover.settings import Settings, configure
from failover.telemetry import configure_telemetry
from orchestrations import MODULES as ORCHESTRATION_MODULES

settings = Settings.from_env()
configure(settings)
configure_logging(settings.log_level, json_output=settings.log_json)
# OpenTelemetry to Application Insights when the app has a connection string (set by infra/app/function.bicep).
configure_telemetry(os.environ, client_id=settings.managed_identity_client_id)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
routes.use_readers(
    Readers(
        read_groups=planning.read_groups,
        check_plan=readiness.check_plan,
        read_recovery_points=planning.read_recovery_points,
        read_capacity=planning.read_capacity,
        read_region_capacity=planning.read_region_capacity,
    )
)
app.register_functions(routes.bp)
for module in (*ORCHESTRATION_MODULES, *ACTIVITY_MODULES):
    app.register_functions(module.bp)

# Everything above lives as long as the worker process: keep it out of the garbage collector's full walks.
freeze_startup_objects()

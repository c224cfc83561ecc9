"""Azure Functions host: composition only. Logging, settings, one df.DFApp, the blueprints."""

import azure.durable_functions as df
import azure.functions as func

from activities import MODULES as ACTIVITY_MODULES
from failover import routes
from failover.logs import configure_logging
from failover.settings import Settings, configure
from orchestrations import MODULES as ORCHESTRATION_MODULES

settings = Settings.from_env()
configure(settings)
configure_logging(settings.log_level, json_output=settings.log_json)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(routes.bp)
for module in (*ORCHESTRATION_MODULES, *ACTIVITY_MODULES):
    app.register_functions(module.bp)

"""OpenTelemetry to Application Insights: structlog events with their run correlation, on the Azure path only."""

from __future__ import annotations

import importlib
import io
import json
import logging
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from failover import telemetry
from failover.logs import configure_logging
from tests.infra.logcapture import ListHandler


@pytest.fixture(autouse=True)
def restore_structlog() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def exported() -> Iterator[tuple[logging.Logger, ListHandler]]:
    """A stand-in for the distro's exporter: a handler on the logger it would export from."""
    logger = logging.getLogger("tests.telemetry.exported")
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


class TestForwarding:
    def test_events_keep_their_run_correlation(self, exported: tuple[logging.Logger, ListHandler]) -> None:
        logger, handler = exported
        stream = io.StringIO()
        configure_logging("INFO", json_output=True, stream=stream)
        telemetry.forward_structlog_events(logger)
        structlog.contextvars.bind_contextvars(instance_id="failover-demo")
        log = structlog.get_logger("failover.activity").bind(plan="demo", step="asr.batch")
        log.info("batch started", batch=2, recovery_plans=["rp-data-01"], name="shadowed", duration=None)
        log.warning("job slow", job="j1")
        log.debug("not at INFO")

        first, second = handler.records
        assert first.getMessage() == "batch started" and first.levelno == logging.INFO
        attributes = first.__dict__
        assert (attributes["instance_id"], attributes["plan"], attributes["step"]) == (
            "failover-demo",
            "demo",
            "asr.batch",
        )
        assert attributes["batch"] == 2
        assert attributes["recovery_plans"] == '["rp-data-01"]'  # OpenTelemetry attributes are primitives
        assert attributes["failover_name"] == "shadowed"  # `name` is LogRecord's own attribute
        assert "duration" not in attributes
        assert second.levelno == logging.WARNING and second.__dict__["job"] == "j1"
        # The JSON lines on stderr are unchanged: the renderer still runs last, on the same events.
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["event"] for line in lines] == ["batch started", "job slow"]
        assert lines[0]["instance_id"] == "failover-demo" and lines[0]["batch"] == 2

    def test_installed_once_before_the_renderer(self, exported: tuple[logging.Logger, ListHandler]) -> None:
        logger, _ = exported
        configure_logging("INFO", json_output=True, stream=io.StringIO())
        first = telemetry.forward_structlog_events(logger)
        assert telemetry.forward_structlog_events(logger) is first
        processors = structlog.get_config()["processors"]
        assert [p for p in processors if isinstance(p, telemetry.ForwardToLogging)] == [first]
        assert processors[-2] is first and isinstance(processors[-1], structlog.processors.JSONRenderer)

    def test_exceptions_travel_with_the_record(self, exported: tuple[logging.Logger, ListHandler]) -> None:
        logger, handler = exported
        configure_logging("INFO", json_output=True, stream=io.StringIO())
        telemetry.forward_structlog_events(logger)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            structlog.get_logger().exception("step failed", step="dns")
        (record,) = handler.records
        assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is RuntimeError


class TestAzurePathOnly:
    def test_without_a_connection_string_nothing_is_imported(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "azure.monitor.opentelemetry", None)  # importing it would raise
        configure_logging("INFO", stream=io.StringIO())
        before = list(structlog.get_config()["processors"])
        assert telemetry.configure_telemetry({}) is False
        assert telemetry.configure_telemetry({telemetry.CONNECTION_STRING: "  "}) is False
        assert structlog.get_config()["processors"] == before

    def test_function_app_imports_without_the_distro(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Local runs and tests import the Azure host module without paying for azure-monitor-opentelemetry."""
        monkeypatch.setitem(sys.modules, "azure.monitor.opentelemetry", None)
        monkeypatch.delenv(telemetry.CONNECTION_STRING, raising=False)
        monkeypatch.setenv("FAILOVER_APPROVAL_SIGNING_KEY", "test-key")
        monkeypatch.delitem(sys.modules, "function_app", raising=False)
        try:
            assert importlib.import_module("function_app").app
        finally:
            sys.modules.pop("function_app", None)

    def test_with_a_connection_string(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[dict[str, Any]] = []
        distro = types.ModuleType("azure.monitor.opentelemetry")
        distro.configure_azure_monitor = lambda **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "azure.monitor.opentelemetry", distro)
        exported = logging.getLogger(telemetry.LOGGER_NAME)
        monkeypatch.setattr(exported, "propagate", True)
        monkeypatch.setattr(exported, "level", logging.NOTSET)
        configure_logging("INFO", stream=io.StringIO())

        env = {telemetry.CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000"}
        assert telemetry.configure_telemetry(env, client_id="11111111-1111-1111-1111-111111111111") is True

        (kwargs,) = calls
        assert kwargs["connection_string"] == env[telemetry.CONNECTION_STRING]
        assert kwargs["logger_name"] == telemetry.LOGGER_NAME
        assert type(kwargs["credential"]).__name__ == "ManagedIdentityCredential"  # the component refuses keys
        assert exported.propagate is False and exported.level == logging.DEBUG
        assert any(isinstance(p, telemetry.ForwardToLogging) for p in structlog.get_config()["processors"])

    def test_the_pinned_distro_takes_those_arguments(self) -> None:
        """azure-monitor-opentelemetry (a production dependency) knows `logger_name` and `credential`."""
        from azure.monitor.opentelemetry import _constants, configure_azure_monitor

        assert _constants.LOGGER_NAME_ARG == "logger_name"
        assert "credential" in (configure_azure_monitor.__doc__ or "")
        assert "logger_name" in (configure_azure_monitor.__doc__ or "")

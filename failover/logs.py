"""structlog configuration, once per process: JSON lines (or a console renderer for the CLI)."""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderr:
    """`sys.stderr` as it is when a line is written, not when logging was configured: a process (or a test run)
    that replaces and closes stderr later must not make every log call fail (a request refused with 431 would
    become a 500)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", *, json_output: bool = True, stream: object = None) -> None:
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer = structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )

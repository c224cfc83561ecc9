"""A logging handler that keeps the records it is given (what the telemetry exporter would receive)."""

from __future__ import annotations

import logging


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

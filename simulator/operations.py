"""Long-running operations of the simulated resource providers outside ASR (SQL, Storage, Compute, NetApp,
Backup): one record type and one book that starts them, finishes them when their simulated time is up, and
finds them by id. ASR keeps its own jobs (`simulator.estate.Job`): its API reports jobs, not operations.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from simulator.estate import SimError, utcnow

if TYPE_CHECKING:
    from simulator.estate import Estate


@dataclass
class Operation:
    """One long-running operation: a failover, a VM start or deallocate, a replication break, a restore."""

    id: str
    kind: str  # sql.failover | storage.failover | vm.start | netapp.break | backup.restore | ...
    provider: str  # microsoft.sql | microsoft.storage | microsoft.compute | microsoft.netapp | ...
    location: str
    target: Any  # the resource it acts on
    started_at: datetime
    due_at: datetime
    status: str = "InProgress"  # InProgress | Succeeded | Failed
    ended_at: datetime | None = None
    error: dict[str, str] | None = None  # ARM's {code, message} once Failed
    fail_with: str | None = None  # configured failure: the operation ends Failed with this message
    server: str | None = None  # SQL: the server the failover was requested on (the new primary)


class OperationBook(ABC):
    """The operations of one estate's providers. Subclasses apply an operation's effect in `_finish`.
    Callers hold the estate's lock (`lock`)."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.operations: dict[str, Operation] = {}

    @property
    def lock(self) -> Any:
        return self.estate.lock

    def _start(
        self, kind: str, provider: str, location: str, target: Any, seconds: float, fail_with: str | None
    ) -> Operation:
        """An operation that takes `seconds` of simulated time."""
        now = utcnow()
        op = Operation(
            id=str(uuid.uuid4()),
            kind=kind,
            provider=provider,
            location=location,
            target=target,
            started_at=now,
            due_at=now + self.estate.scaled(seconds),
            fail_with=fail_with,
        )
        self.operations[op.id] = op
        return op

    def refresh(self) -> None:
        """Finish every operation whose simulated time is up and apply its effect."""
        now = utcnow()
        with self.lock:
            for op in self.operations.values():
                if op.status == "InProgress" and now >= op.due_at:
                    op.ended_at = op.due_at
                    self._finish(op)

    def finish_running(self) -> None:
        """Make every running operation due now, so it ends on the next read (tests skip simulated waiting)."""
        with self.lock:
            due = utcnow() - timedelta(seconds=1)
            for op in self.operations.values():
                if op.status == "InProgress":
                    op.due_at = due

    @abstractmethod
    def _finish(self, op: Operation) -> None:
        """Set the operation's status (and error) and apply its effect on its target."""

    def operation(self, op_id: str, provider: str | None = None) -> Operation:
        """An operation by id; with `provider`, only one of that provider (an id is only known to its own)."""
        with self.lock:
            self.refresh()
            op = self.operations.get(op_id.lower())
            if op is None or (provider is not None and op.provider != provider.lower()):
                raise SimError(404, "ResourceNotFound", f"The operation '{op_id}' was not found.")
            return op

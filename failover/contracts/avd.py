"""Contracts of the Azure Virtual Desktop activities (activities/avd.py)."""

from __future__ import annotations

from pydantic import Field, StrictBool

from failover.contracts import ArmInput, Contract, NonEmpty


class HostPoolInput(ArmInput):
    """One host pool (the plan's `host_pool_ref`): the base of every AVD activity's input."""

    host_pool: NonEmpty


class HostPoolDrainInput(HostPoolInput):
    """`avd_drain_host_pool`: put every session host in drain mode, `concurrency` PATCHes at a time."""

    concurrency: int = Field(default=8, ge=1)


class SessionHostInput(HostPoolInput):
    """One session host of a pool: `avd_log_off_sessions`' input, and the base of a message."""

    session_host: NonEmpty
    concurrency: int = Field(default=8, ge=1)


class SessionMessageInput(SessionHostInput):
    """`avd_message_sessions`: send the plan's message to the host's active and disconnected sessions."""

    title: NonEmpty
    body: NonEmpty


class NewSessionsInput(HostPoolInput):
    """`avd_allow_new_sessions`: open (`allow` true) or close the pool's session hosts to new sessions; all of
    them, or only `session_hosts` (FQDNs or VM names)."""

    allow: StrictBool = True
    session_hosts: list[NonEmpty] | None = None


class SessionCountResult(Contract):
    """`avd_count_sessions`: a host pool's user sessions, read before the approval card (nothing changed)."""

    host_pool: str
    sessions: int


class HostPoolDrainResult(Contract):
    """The pool's session hosts (short names), how many were drained now, and the sessions found."""

    host_pool: str
    session_hosts: list[str]
    drained: int
    sessions: int
    # session hosts AVD reports unreachable (status Unavailable, Shutdown, NoHeartbeat or Disconnected: the
    # service cannot route to them) -> the sessions it still lists on each
    unreachable: dict[str, int] = Field(default_factory=dict)


class SessionFailure(Contract):
    """A session that was not messaged or not logged off, and why (the run lists it in its errors)."""

    session_host: str
    session_id: str
    user: str
    error: str


class SessionMessageResult(Contract):
    """Messages delivered on one session host; the undelivered ones are reported, never sent again."""

    session_host: str
    messaged: int
    failed: list[SessionFailure] = Field(default_factory=list)


class SessionLogoffResult(Contract):
    """Sessions logged off on one session host; the ones that would not go are reported."""

    session_host: str
    logged_off: int
    failed: list[SessionFailure] = Field(default_factory=list)


class NewSessionsResult(Contract):
    """How many session hosts were in scope, how many were changed, and which (to undo exactly those)."""

    host_pool: str
    session_hosts: int
    changed: int
    changed_hosts: list[str]

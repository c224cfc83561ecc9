"""Contracts of the Azure Virtual Desktop activities (activities/avd.py)."""

from __future__ import annotations

from typing import Literal

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


class ProvisionInput(HostPoolInput):
    """`avd_provision_session_hosts`: converge `names` to session hosts of the pool, built in `location` from its
    VM template: create a missing VM, install the AVD agent with the pool's registration token on a booted one,
    close a registered one to new sessions when `allow_new_session` is false (a drill). Repeatable."""

    vm_subscription_id: NonEmpty
    vm_resource_group: NonEmpty
    location: NonEmpty
    subnet_id: NonEmpty
    names: list[NonEmpty] = Field(min_length=1)
    vm_size: str | None = None
    allow_new_session: StrictBool = True
    reregister: list[NonEmpty] = Field(default_factory=list)  # VMs whose failed registration is tried again


class ProvisionedHost(Contract):
    """One VM of a provisioned pool: `creating` (VM not booted), `registering` (agent installing), `available`,
    `unavailable` (registered, not reporting), or `failed` (`error` says why)."""

    vm: str
    state: Literal["creating", "registering", "available", "unavailable", "failed"]
    session_host: str | None = None
    size: str
    error: str | None = None


class ProvisionResult(Contract):
    host_pool: str
    hosts: list[ProvisionedHost]
    token_expires: str | None = None  # the registration token used (never the token itself)

    @property
    def available(self) -> list[str]:
        return [h.vm for h in self.hosts if h.state == "available"]


class RemoveHostsInput(HostPoolInput):
    """`avd_remove_session_hosts`: drain (allow new sessions false), unregister (force: sessions go with it) and
    delete the VMs `names` of a provisioned pool. Repeatable: what is gone already counts as removed."""

    vm_subscription_id: NonEmpty
    vm_resource_group: NonEmpty
    names: list[NonEmpty] = Field(min_length=1)


class RemoveHostsResult(Contract):
    host_pool: str
    drained: list[str]
    session_hosts_removed: list[str]
    vms_deleted: list[str]

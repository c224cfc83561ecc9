"""What every resource's handlers share: the settings, the plans, the clock, the readers the host passed in, and
how a run of a plan is found (its id, its plan's claim, its latest finished run)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import azure.durable_functions as df

from failover import claims
from failover.api.df_client import json_value
from failover.api.http import (
    ACTIVE,
    BACKUP_TEST_ORCHESTRATOR,
    EVACUATION_ORCHESTRATOR,
    KEY_REQUESTER,
    ORCHESTRATOR,
    PRINCIPAL_HEADER,
    DurableClient,
    Readers,
    principal,
    run_output,
    runtime_status,
)
from failover.errors import ServiceError
from failover.plan import Plan
from failover.run import RUN_ID, RunKind, isoformat, run_kind
from failover.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Holder:
    """The run holding a plan's claim as the handlers see it: `active` (running, pending, suspended) or not."""

    run_id: str
    mode: str
    active: bool
    reserved: bool = False  # a run the claim is reserved for (a failover superseding a drill)
    # the alerts its status lists (read with the holder: a copy of one of them attaches nothing, and needs no
    # second read of the run's status)
    listed: frozenset[str] = frozenset()

    @property
    def kind(self) -> RunKind:
        return run_kind(self.mode)


@dataclass
class ApiBase:
    """The handler set's state. `plans` by name; `clock` returns epoch seconds (tests move it); `readers` are
    the Azure reads outside a run, passed in by the host (None: preview and readiness answer 503)."""

    settings: Settings
    plans: dict[str, Plan]
    clock: Callable[[], float] = field(default=time.time)
    readers: Readers | None = None
    # (plan, alert id, monitor condition) -> the answer of the copy of that alert now with the durable engine:
    # later copies wait for it and share it (one event loop per host process)
    _attaching: dict[tuple[str, str, str], asyncio.Future[dict[str, Any] | None]] = field(
        default_factory=dict, init=False, repr=False
    )
    # what a storm's copies would each work out again: an alert body's parse (by its bytes) and an alert's
    # matching against the plans (by the parsed alert and the plans it was matched with), last used kept
    _alerts_read: OrderedDict[bytes, Any] = field(default_factory=OrderedDict, init=False, repr=False)
    # (plan, alert id, monitor condition) -> the run that holds the plan and lists that alert, as last seen: a
    # later copy reads that run's status only (one engine call, shared by the copies asking at the same moment)
    _alert_runs: OrderedDict[tuple[str, str, str], str] = field(default_factory=OrderedDict, init=False, repr=False)
    _status_reads: dict[str, tuple[asyncio.Future[Any], float]] = field(default_factory=dict, init=False, repr=False)
    # (plan, alert id, monitor condition) -> (run, when the read that last saw it active and listing the alert was
    # asked): within COPY_FRESH_SECONDS of that a copy is answered without reading again
    _alert_confirmed: dict[tuple[str, str, str], tuple[str, float]] = field(
        default_factory=dict, init=False, repr=False
    )
    _refreshes: set[asyncio.Future[Any]] = field(default_factory=set, init=False, repr=False)  # reads in the background
    _decided: OrderedDict[int, tuple[Any, list[Plan], Any]] = field(default_factory=OrderedDict, init=False, repr=False)

    async def _first_copy(
        self,
        key: tuple[str, str, str],
        work: Callable[[Callable[[dict[str, Any]], None]], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """Copies of one alert (`key`) while an earlier copy is with the durable engine wait for it and share its
        answer (`deduplicated`); the first does `work(accepted)`, which may call `accepted(answer)` to let the
        waiting copies go before it has ended. If the first fails before answering, each waiting copy tries in
        turn: a failure is never hidden behind a 202. One event loop per host process."""
        while (first := self._attaching.get(key)) is not None:
            shared = await asyncio.shield(first)
            if shared is not None:
                return {**shared, "deduplicated": True}
        done: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._attaching[key] = done
        answer: dict[str, Any] | None = None

        def accepted(early: dict[str, Any]) -> None:
            if not done.done():
                done.set_result(early)

        try:
            answer = await work(accepted)
            return answer
        finally:
            if self._attaching.get(key) is done:
                del self._attaching[key]
            if not done.done():
                done.set_result(answer)

    async def _unused_id(self, client: DurableClient, draw: Callable[[], str]) -> str:
        """`draw()` again while an instance has the id it drew: ids end in 4 random hex digits within a second
        (`failover.run.new_run_id`), and two starts must not share one (the engine refuses the second start of a
        running instance and replaces the history of an ended one). The read and the start run without the loop
        switching in the local host."""
        while True:
            instance_id = draw()
            existing = await client.get_status(instance_id)
            if not existing or runtime_status(existing) is None:
                return instance_id

    def _forget_sightings(self, run_id: str) -> None:
        """A decision, command or notice the API sends a run may end it: the sightings its alerts' copies are
        answered from (`Runs._known_run`) no longer hold, and the next copy reads the run's status."""
        for key in [key for key, (seen, _) in self._alert_confirmed.items() if seen == run_id]:
            del self._alert_confirmed[key]

    def _plan(self, name: str, field: str = "") -> Plan:
        """The plan by name, or 404 PlanNotFound (`field` prefixes the message when a body named it)."""
        plan = self.plans.get(name)
        if plan is None:
            raise ServiceError(404, "PlanNotFound", f"{field}no plan named '{name}'")
        return plan

    def status_url(self, instance_id: str) -> str:
        return f"{self.settings.public_base_url}/api/failovers/{quote(instance_id)}"

    def _now(self) -> str:
        return isoformat(datetime.fromtimestamp(self.clock(), UTC))

    def _principal(self, req: Any) -> str:
        """The signed-in caller (X-MS-CLIENT-PRINCIPAL-NAME, lower case), or "". 401 when the header is present
        but cannot be trusted: App Service Authentication is off, so any caller could have set it."""
        name = principal(req)
        if name and not self.settings.identity_header_trusted:
            raise ServiceError(
                401,
                "IdentityNotTrusted",
                f"{PRINCIPAL_HEADER} is set but App Service Authentication is off: the identity cannot be trusted",
            )
        return name

    def _requester(self, req: Any, given: str | None) -> str | None:
        """Who asks for a cancel or an operator action: the signed-in identity when present (and trusted), else
        the body's `requested_by`."""
        return self._principal(req) or (given or "").strip().lower() or None

    def _start_requester(self, req: Any, given: str | None) -> tuple[str, str | None]:
        """Who starts a run, as `(requested_by, requested_by_claim)`. The requester is an authenticated identity,
        never a body field: the signed-in caller (X-MS-CLIENT-PRINCIPAL-NAME, trusted), whose body `requested_by`
        may only repeat it (403 `RequesterNotCaller` otherwise); with the function key alone, the machine
        (`function-key`), the body's `requested_by` kept only as `requested_by_claim`, an unverified note that no
        check reads (the self-approval rule compares approvers to `requested_by`)."""
        signed_in = self._principal(req)
        claimed = (given or "").strip().lower() or None
        if not signed_in:
            return KEY_REQUESTER, claimed
        if claimed is not None and claimed != signed_in:
            raise ServiceError(
                403,
                "RequesterNotCaller",
                f"requested_by: '{claimed}' is not the signed-in caller ({signed_in}); the requester is the "
                f"{PRINCIPAL_HEADER} identity: omit requested_by or repeat it",
            )
        return signed_in, None

    def _readers(self) -> Readers:
        if self.readers is None:
            raise ServiceError(503, "NotConfigured", "this host has no Azure readers configured")
        return self.readers

    async def _watch(
        self,
        client: DurableClient,
        instance_id: str,
        read: Callable[[Any], T | None],
        seconds: float,
        interval: float = 0.05,
    ) -> T | None:
        """Read a run's status until `read(status)` answers (anything but None), at most `seconds`; None then. How
        the handlers wait for a run to record what it decided (a claim, a command, a decision, a callback)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            answer = read(await client.get_status(instance_id))
            if answer is not None or asyncio.get_running_loop().time() >= deadline:
                return answer
            await asyncio.sleep(interval)

    # ---- runs of a plan -------------------------------------------------------------------------
    async def _run_status(
        self, client: DurableClient, instance_id: str, restore_tests: bool = False, evacuations: bool = False
    ) -> Any:
        """A failover run's status (or, with `restore_tests`, a restore test's; with `evacuations`, an
        evacuation's), or 404 RunNotFound."""
        status = await client.get_status(instance_id)
        kinds = (
            ORCHESTRATOR,
            *((BACKUP_TEST_ORCHESTRATOR,) if restore_tests else ()),
            *((EVACUATION_ORCHESTRATOR,) if evacuations else ()),
        )
        if not status or (getattr(status, "name", None) or ORCHESTRATOR) not in kinds:
            raise ServiceError(404, "RunNotFound", f"no failover run with id '{instance_id}'")
        return status

    async def _holder(self, client: DurableClient, plan: Plan) -> tuple[Holder | None, list[str]]:
        """The plan's claim: the run holding it (or reserved), and the ids of runs that hold it but have ended
        without giving it back (stale: the next run names them in its claim)."""
        state = await client.read_entity_state(df.EntityId(claims.ENTITY, plan.name))
        claim = json_value(state.entity_state if getattr(state, "entity_exists", False) else None)
        claim = claim if isinstance(claim, dict) else {}
        stale: list[str] = []
        found: Holder | None = None
        # the run the claim is reserved for first: a failover superseding a drill is the plan's run from then on
        candidates = [({"run_id": claim.get("next")}, True), (claim.get("holder") or {}, False)]
        for entry, reserved in candidates:
            run_id = entry.get("run_id")
            if not run_id:
                continue
            status = await client.get_status(run_id)
            if status and runtime_status(status) in ACTIVE:
                if found is None:
                    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
                    mode = entry.get("mode") or custom.get("mode") or "unplanned"
                    listed = frozenset(
                        str(t.get("alert_id")) for t in custom.get("triggers") or [] if isinstance(t, dict)
                    )
                    found = Holder(str(run_id), str(mode), True, reserved, listed)
            else:
                stale.append(str(run_id))
        return found, stale

    async def _undecided(self, client: DurableClient, plan: Plan) -> list[str]:
        """Runs of the plan started but not yet answered by the entity (claim undecided), oldest first: one of them
        is about to hold the plan. On a loaded host a run's claim can take longer than its starter waits."""
        found = []
        for status in reversed(await self._runs_of(client, plan.name)):
            custom = status.custom_status if isinstance(status.custom_status, dict) else {}
            if runtime_status(status) in ACTIVE and custom.get("claim") is None and not custom.get("outcome"):
                found.append(str(status.instance_id))
        return found

    async def _runs_of(self, client: DurableClient, plan: str, kinds: set[RunKind] | None = None) -> list[Any]:
        """Every failover run of a plan (optionally of some kinds), newest first (run ids sort by start time)."""
        found = []
        for status in await client.get_status_all():
            if getattr(status, "name", None) != ORCHESTRATOR or not status.instance_id:
                continue
            match = RUN_ID.match(status.instance_id)
            if match is None or match["plan"] != plan:
                continue
            if kinds is not None and status.instance_id.split("-", 1)[0] not in kinds:
                continue
            found.append(status)
        return sorted(found, key=lambda s: (isoformat(s.created_time) if s.created_time else "", s.instance_id),
                      reverse=True)  # fmt: skip

    async def _latest_output(
        self, client: DurableClient, plan: str, kinds: set[RunKind], modes: set[str] | None = None
    ) -> dict[str, Any] | None:
        """The summary of the plan's latest finished run of these kinds (and modes), or None."""
        for listed in await self._runs_of(client, plan, kinds):
            if runtime_status(listed) in ACTIVE:
                continue
            output = run_output(await client.get_status(listed.instance_id))
            if output and (modes is None or output.get("mode") in modes):
                return output
        return None

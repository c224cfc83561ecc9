"""Starting runs: `POST /api/failovers`, `/api/drills`, `/api/failbacks`, `/api/alerts`, `/api/events` and the
timers. Every run gets its own id (`failover.run.new_run_id`); one active run per plan is the plan's claim
(`failover.claims`), taken by the run itself through the engine.

What a start meets (docs/runbook.md, "Runs and mode collisions"):
- no active run: a new run starts and claims the plan;
- an active run of the same kind (failover, drill, failback): the request joins it (`deduplicated: true`, the
  alert is attached to the run as a trigger);
- a drill, when a real failover is asked for: by the plan's `drill.on_failover` — `cancel_drill` (the default:
  the drill is cancelled and cleaned up, the failover starts as soon as the drill has released the plan) or
  `refuse` (409 naming the drill);
- any other mix (a drill or a failback while a failover runs, a failover while a failback runs): 409 naming the
  active run; an operator cancels it first.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import azure.functions as func

from failover.alerts import Alert, AlertError, parse_alert
from failover.api.base import Holder
from failover.api.evacuations import Evacuations
from failover.api.http import (
    ACTION_GROUP_ROLE,
    ACTIVE,
    CONTROL_EVENT,
    ORCHESTRATOR,
    DurableClient,
    caller_roles,
    check_json_type,
    decode_json,
    error_response,
    json_response,
    log,
    read_body,
    read_json,
    runtime_status,
)
from failover.errors import ServiceError
from failover.events import (
    is_validation_request,
    parse_event_delivery,
    subscription_validation_code,
    validation_response_headers,
)
from failover.plan import Plan
from failover.policy import PolicyDecision, decide
from failover.run import build_run_input, new_run_id, run_kind

MEMO_ENTRIES = 64  # alert bodies (and their matchings) remembered: a storm is copies of a few alerts
MEMO_BODY_LIMIT = 64 * 1024  # larger bodies are parsed each time (a Log alert with search results)
CLAIM_WAIT = 15.0  # seconds a start waits for its run to be granted (or refused) the plan's claim
# A run seen active and listing an alert this recently (seconds, from when that read was asked) answers the alert's
# copies without another read: a storm's copies come within a second; Action Groups retry seconds apart.
COPY_FRESH_SECONDS = 0.5


class Runs(Evacuations):
    async def _start_or_attach(
        self,
        client: DurableClient,
        plan: Plan,
        *,
        trigger: dict[str, Any] | None = None,
        mode: str | None = None,
        requested_by: str | None = None,
        requested_by_claim: str | None = None,
        reason: str | None = None,
        restore: dict[str, Any] | None = None,
        cleanup_only: bool = False,
    ) -> dict[str, Any]:
        """Start a run of `plan`, or join the active one (see the module docstring). Raises ServiceError 409 when
        the plan's active run is of another kind and the policy refuses.

        Copies of one alert (same alert id and condition) that arrive while an earlier copy is with the durable
        engine wait for it and share its answer: in a storm every copy would otherwise read the plan's claim and
        raise an event its orchestrator replays and ignores (docs/performance.md). They are answered as soon as
        the engine has accepted the run (the alert is then in a run's input), not when the run has taken the
        plan's claim: should it lose the claim to a concurrent start, the first copy attaches the alert to the
        winner. If that copy failed before the engine accepted a run, each waiting copy goes to the engine
        itself: a failure is never hidden behind a 202."""
        options: dict[str, Any] = {
            "mode": mode or plan.asr.mode, "requested_by": requested_by, "requested_by_claim": requested_by_claim,
            "reason": reason, "restore": restore, "cleanup_only": cleanup_only,
        }  # fmt: skip
        if trigger is None or not trigger.get("alert_id"):
            return await self._start_or_join(client, plan, trigger, **options)
        key = (plan.name, str(trigger["alert_id"]), str(trigger.get("monitor_condition") or ""))
        known = await self._known_run(client, key)
        if known is not None:
            return known

        async def start(accepted: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
            asked = self.clock()
            started = await self._start_or_join(client, plan, trigger, accepted=accepted, **options)
            if "claim" not in started:  # the run holds the plan (granted, or joined): later copies look there first
                self._alert_runs[key] = str(started["instance_id"])
                while len(self._alert_runs) > MEMO_ENTRIES:
                    self._alert_confirmed.pop(self._alert_runs.popitem(last=False)[0], None)
                if started.get("deduplicated") is False:  # started with this alert, seen holding the claim
                    self._alert_confirmed[key] = (str(started["instance_id"]), asked)
            return started

        return await self._first_copy(key, start)

    async def _known_run(self, client: DurableClient, key: tuple[str, str, str]) -> dict[str, Any] | None:
        """A copy of an alert a run of the plan holds: that run's answer, when its status shows it still active and
        listing the alert; else None (the copy goes the long way: a run that has ended may be followed by a new
        one). The status is read once for the copies asking at the same moment, and not again for those arriving
        within COPY_FRESH_SECONDS of when that read was asked (or the start that saw the run take the claim): while a
        storm arrives the run is busiest (its claim, preflight, card) and a read waits behind it, with every copy in
        flight waiting on that read. Past half that age a copy still takes the answer and the next read starts in
        the background, so copies wait for a read only when none ended in the last COPY_FRESH_SECONDS."""
        run_id = self._alert_runs.get(key)
        if run_id is None:
            return None
        answer = {"instance_id": run_id, "status_url": self.status_url(run_id), "deduplicated": True}
        seen = self._alert_confirmed.get(key)
        age = self.clock() - seen[1] if seen is not None and seen[0] == run_id else None
        if age is not None and 0 <= age < COPY_FRESH_SECONDS:
            if age >= COPY_FRESH_SECONDS / 2 and run_id not in self._status_reads:
                refresh = asyncio.ensure_future(self._confirm(client, key, run_id))
                self._refreshes.add(refresh)  # held until done (the loop keeps weak references only)
                refresh.add_done_callback(self._refreshed)
            return answer
        return answer if await self._confirm(client, key, run_id) else None

    def _refreshed(self, refresh: asyncio.Future[Any]) -> None:
        """A read in the background ended. If it failed, the confirmation it would have renewed ages out and the next
        copy past the fresh window reads again (and sees the error)."""
        self._refreshes.discard(refresh)
        if not refresh.cancelled() and refresh.exception() is not None:
            log.warning("run status not read in the background", error=str(refresh.exception())[:200])

    async def _confirm(self, client: DurableClient, key: tuple[str, str, str], run_id: str) -> bool:
        """Read the run's status: True when it is active and lists the alert (the confirmation is recorded with when
        the read was asked); else the alert is forgotten (its next copy goes the long way)."""
        status, asked = await self._read_status(client, run_id)
        custom = status.custom_status if status and isinstance(status.custom_status, dict) else {}
        listed = {str(t.get("alert_id")) for t in custom.get("triggers") or [] if isinstance(t, dict)}
        if runtime_status(status) in ACTIVE and key[1] in listed:
            latest = self._alert_confirmed.get(key)
            if self._alert_runs.get(key) == run_id and (latest is None or latest[1] < asked):
                self._alert_confirmed[key] = (run_id, asked)
            return True
        self._alert_confirmed.pop(key, None)
        if self._alert_runs.get(key) == run_id:
            del self._alert_runs[key]
        return False

    async def _read_status(self, client: DurableClient, run_id: str) -> tuple[Any, float]:
        """`get_status(run_id)` and when it was asked (`clock`), one read in flight per run: the callers asking while
        it is in flight share it."""
        reading = self._status_reads.get(run_id)
        if reading is None:
            reading = (asyncio.ensure_future(client.get_status(run_id)), self.clock())
            self._status_reads[run_id] = reading
            reading[0].add_done_callback(lambda _: self._status_reads.pop(run_id, None))
        return await asyncio.shield(reading[0]), reading[1]

    async def _start_or_join(
        self,
        client: DurableClient,
        plan: Plan,
        trigger: dict[str, Any] | None,
        *,
        mode: str,
        requested_by: str | None,
        requested_by_claim: str | None,
        reason: str | None,
        restore: dict[str, Any] | None,
        cleanup_only: bool = False,
        accepted: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        for _ in range(3):  # a run that loses the claim to a concurrent start joins the winner: one more look
            holder, stale, undecided = await self._claim_and_undecided(client, plan)
            if holder is None:  # a run started by a concurrent request may be about to take the plan: wait for it
                for run_id in undecided:
                    await self._claim_of(client, run_id)
                if undecided:
                    holder, stale = await self._holder(client, plan)
            supersedes = None
            if holder is not None:
                supersedes = await self._collide(client, plan, holder, mode, trigger)
                if supersedes is None:
                    return await self._join(client, holder, trigger)
            run_id = await self._unused_id(client, partial(new_run_id, plan.name, mode, self._clock_dt()))
            spec = build_run_input(
                plan,
                mode=mode,
                trigger=trigger,
                time_scale=self.settings.time_scale,
                requested_by=requested_by,
                requested_by_claim=requested_by_claim,
                reason=reason,
                restore=restore,
                supersedes=supersedes,
                stale_claims=stale,
                cleanup_only=cleanup_only,
            )
            await client.start_new(ORCHESTRATOR, run_id, spec)
            if accepted is not None:
                accepted({"instance_id": run_id, "status_url": self.status_url(run_id), "claim": "pending"})
            claim = await self._claim_of(client, run_id)
            if claim is None or claim.get("granted") or claim.get("next") == run_id:
                log.info("run started", plan=plan.name, instance_id=run_id, mode=mode, supersedes=supersedes)
                answer = {"instance_id": run_id, "status_url": self.status_url(run_id), "deduplicated": False}
                if supersedes:
                    answer["supersedes"] = supersedes
                if claim is None:
                    answer["claim"] = "pending"
                return answer
            await self._discard(client, run_id)  # refused: another start won the plan at the same moment
        raise ServiceError(503, "PlanBusy", f"plan '{plan.name}': the claim kept changing hands; try again")

    async def _claim_and_undecided(
        self, client: DurableClient, plan: Plan
    ) -> tuple[Holder | None, list[str], list[str]]:
        """The plan's claim (holder, stale runs) and its runs not yet answered by it. Over a network (df's client) the
        two reads go together: one engine round trip less before a storm's first copy is accepted, and the copies in
        flight with it wait for that. A client that answers in process (`answers_in_process`: each call returns
        without suspending) reads one after the other: gathering would hand the loop to every request waiting
        before the start resumes, the very wait it saves over a network."""
        if getattr(client, "answers_in_process", False):
            holder, stale = await self._holder(client, plan)
            return holder, stale, await self._undecided(client, plan)
        (holder, stale), undecided = await asyncio.gather(self._holder(client, plan), self._undecided(client, plan))
        return holder, stale, undecided

    def _clock_dt(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def _collide(
        self, client: DurableClient, plan: Plan, holder: Holder, mode: str, trigger: dict[str, Any] | None
    ) -> str | None:
        """A start meeting the plan's active run. Returns None to join it, or the id of the drill the new run
        supersedes (cancelled here); raises 409 when the policy refuses."""
        wanted = run_kind(mode)
        if holder.kind == wanted:
            return None
        what = f"{holder.kind} {holder.run_id}"
        if holder.kind == "drill" and wanted == "failover":
            policy = plan.drill.on_failover if plan.drill is not None else "cancel_drill"
            if policy == "refuse":
                raise ServiceError(
                    409, "DrillInProgress",
                    f"plan '{plan.name}' is running {what}; drill.on_failover is 'refuse': cancel the drill, then "
                    "start the failover",
                )  # fmt: skip
            source = (trigger or {}).get("title") or "a failover request"
            self._forget_sightings(holder.run_id)
            await client.raise_event(
                holder.run_id,
                CONTROL_EVENT,
                {"action": "cancel", "by": "failover", "reason": f"superseded by a real failover ({source})",
                 "request_id": uuid.uuid4().hex},
            )  # fmt: skip
            log.info("drill superseded", plan=plan.name, drill=holder.run_id)
            return holder.run_id
        raise ServiceError(
            409, "RunInProgress",
            f"plan '{plan.name}' has an active {what} ({holder.mode}): a {wanted} cannot start until it ends; "
            "cancel it first",
        )  # fmt: skip

    async def _join(self, client: DurableClient, holder: Holder, trigger: dict[str, Any] | None) -> dict[str, Any]:
        """Attach a trigger to the active run of its kind (the run records each alert once)."""
        if trigger is not None and str(trigger.get("alert_id")) not in holder.listed:  # listed: read with the holder
            await client.raise_event(holder.run_id, CONTROL_EVENT, {"action": "trigger", "trigger": trigger})
        log.info("run joined", instance_id=holder.run_id)
        return {"instance_id": holder.run_id, "status_url": self.status_url(holder.run_id), "deduplicated": True}

    async def _claim_of(self, client: DurableClient, run_id: str) -> dict[str, Any] | None:
        """The claim answer a new run recorded in its status (None if it has not within CLAIM_WAIT seconds)."""

        def read(status: Any) -> dict[str, Any] | None:
            if not status:  # purged: a refused run another request discarded
                return {"granted": False}
            claim = (status.custom_status or {}).get("claim") if isinstance(status.custom_status, dict) else None
            if isinstance(claim, dict) and ("granted" in claim or claim.get("next")):
                return claim
            if runtime_status(status) not in ACTIVE and runtime_status(status) is not None:
                return {"granted": False}
            return None

        return await self._watch(client, run_id, read, CLAIM_WAIT)

    async def _discard(self, client: DurableClient, run_id: str) -> None:
        """A run refused the claim ends at once, having done nothing: purge it so listings show real runs only."""
        await self._watch(client, run_id, lambda s: True if not s or runtime_status(s) not in ACTIVE else None, 5.0)
        try:
            await client.purge_instance_history(run_id)
        except Exception as err:  # it stays listed as Failed ("did not start"): visible, harmless
            log.warning("refused run not purged", instance_id=run_id, error=str(err)[:200])

    # ---- alerts and events ----------------------------------------------------------------------
    async def _record_resolution(self, client: DurableClient, alert: Alert, plan_names: list[str]) -> list[str]:
        """A Resolved notice goes to the active run of each plan it would have matched, on the run's control
        channel, behind any alert attached before it; the run decides (only the Resolved notice of the incident
        that started it may cancel it, others are recorded). The run's status is not read first: an alert just
        attached may not be listed there yet."""
        recorded = []
        for name in plan_names:
            holder, _ = await self._holder(client, self.plans[name])
            if holder is None:
                continue
            event = {"action": "resolved", "trigger": alert.summary()}
            self._forget_sightings(holder.run_id)
            await client.raise_event(holder.run_id, CONTROL_EVENT, event)
            recorded.append(holder.run_id)
        return recorded

    async def _handle_alerts(self, client: DurableClient, alerts: list[Alert]) -> func.HttpResponse:
        runs: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        reasons: list[str] = []
        recorded: list[str] = []
        evacuations: list[dict[str, Any]] = []
        for alert in alerts:
            decision = self._match(alert)
            if decision.resolved_plans:
                recorded += await self._record_resolution(client, alert, decision.resolved_plans)
                recorded += await self._record_evacuation_resolution(client, alert, decision.resolved_plans)
            if decision.ignored:
                log.info("alert ignored", alert_rule=alert.alert_rule, reason=decision.reason)
                reasons.append(decision.reason)
                continue
            evacuating = self._incident_evacuations(alert, decision.plans)
            for plans in evacuating.values():
                trigger = alert.summary()
                warned = sorted({w for p in plans for w in decision.warnings.get(p.name) or []})
                if warned:
                    trigger["warnings"] = warned
                evacuations.append(await self._evacuate_for_incident(client, alert, plans, trigger))
            gathered = {p.name for plans in evacuating.values() for p in plans}
            for plan_name in [name for name in decision.plans if name not in gathered]:
                trigger = alert.summary()
                if decision.warnings.get(plan_name):
                    trigger["warnings"] = decision.warnings[plan_name]
                try:
                    runs.append(await self._start_or_attach(client, self.plans[plan_name], trigger=trigger))
                except ServiceError as err:
                    if err.status != 409:
                        raise
                    refused.append({"plan": plan_name, "code": err.code, "message": err.message})
        if evacuations:
            flat = ("instance_id", "status_url", "deduplicated")
            first_answer = runs[0] if runs else {k: evacuations[0][k] for k in flat}
            accepted = {**first_answer, "runs": runs, "evacuations": evacuations}
            return json_response({**accepted, **({"refused": refused} if refused else {})}, 202)
        if not runs and refused:
            first = refused[0]
            return error_response(409, first["code"], "; ".join(f"{r['plan']}: {r['message']}" for r in refused))
        if not runs:
            body: dict[str, Any] = {"ignored": True, "reason": "; ".join(dict.fromkeys(reasons)) or "no alerts"}
            if recorded:
                body["recorded_on"] = recorded
            return json_response(body)
        return json_response({**runs[0], "runs": runs, **({"refused": refused} if refused else {})}, 202)

    def _match(self, alert: Alert) -> PolicyDecision:
        """`decide` for this alert and the plans, worked out once per parsed alert (copies share the parse)."""
        plans = list(self.plans.values())
        known = self._decided.get(id(alert))
        same = known is not None and known[0] is alert and len(known[1]) == len(plans)
        if known is not None and same and all(a is b for a, b in zip(known[1], plans, strict=True)):
            self._decided.move_to_end(id(alert))
            return known[2]
        decision = decide(alert, plans)
        self._decided[id(alert)] = (alert, plans, decision)  # holding the alert keeps its id from being reused
        while len(self._decided) > MEMO_ENTRIES:
            self._decided.popitem(last=False)
        return decision

    def _read_alert(self, req: func.HttpRequest) -> Alert:
        """The request's alert. A body seen before (a copy: Action Groups retry, storms repeat) is not parsed
        again: the same bytes give the same alert."""
        check_json_type(req)
        body = read_body(req)
        alert = self._alerts_read.get(body)
        if alert is not None:
            self._alerts_read.move_to_end(body)
            return alert
        alert = parse_alert(decode_json(body))
        if len(body) <= MEMO_BODY_LIMIT:
            self._alerts_read[body] = alert
            while len(self._alerts_read) > MEMO_ENTRIES:
                self._alerts_read.popitem(last=False)
        return alert

    async def post_alert(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        try:
            alert = self._read_alert(req)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        except AlertError as err:
            return error_response(422, "InvalidAlert", str(err))
        return await self._handle_alerts(client, [alert])

    async def post_alert_entra(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """`POST /api/alerts` for the Action Group's secure webhook: App Service Authentication has validated the
        Entra ID token (issuer, audience) and set the caller's claims; the caller must hold the Action Group role.
        Without App Service Authentication no header here can be trusted: 401."""
        if not self.settings.identity_header_trusted or ACTION_GROUP_ROLE not in caller_roles(req):
            return error_response(
                401,
                "NotActionGroup",
                f"this route takes Azure Monitor's Entra ID token with the {ACTION_GROUP_ROLE} role",
            )
        return await self.post_alert(req, client)

    async def options_events(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """The CloudEvents webhook validation handshake (abuse protection)."""
        if not is_validation_request(req.method, req.headers):
            return error_response(400, "NotAValidationRequest", "OPTIONS needs the WebHook-Request-Origin header")
        return func.HttpResponse(status_code=200, headers=validation_response_headers(req.headers))

    async def post_events(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        try:
            body = read_json(
                req, ("application/json", "application/cloudevents+json", "application/cloudevents-batch+json")
            )
            code = subscription_validation_code(body)
            if code is not None:
                return json_response({"validationResponse": code})
            delivery = parse_event_delivery(body)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        except AlertError as err:
            return error_response(422, "InvalidEvent", str(err))
        if not delivery.alerts:
            types = ", ".join(sorted(set(delivery.ignored))) or "none"
            return json_response({"ignored": True, "reason": f"no health events in this delivery (types: {types})"})
        return await self._handle_alerts(client, delivery.alerts)

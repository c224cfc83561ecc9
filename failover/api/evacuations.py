"""Starting evacuations: `POST /api/evacuations`, and a Service Health incident that hits several plans of one
region (`FAILOVER_EVACUATE_ON_INCIDENT`): every plan whose primary is the region as one run
(`orchestrations.evacuation`), one approval, the in-flight cap shared per vault and recovery region."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from secrets import token_hex
from typing import Any

import azure.functions as func

from failover.alerts import Alert
from failover.api.base import ApiBase
from failover.api.df_client import json_value
from failover.api.http import (
    ACTIVE,
    CONTROL_EVENT,
    EVACUATION_ORCHESTRATOR,
    DurableClient,
    EvacuationRequest,
    error_response,
    json_response,
    log,
    read_json,
    runtime_status,
    validated,
)
from failover.contracts import unwrap
from failover.contracts.run import EvacuationInput
from failover.errors import ServiceError
from failover.plan import Plan


class Evacuations(ApiBase):
    def _evacuation_url(self, instance_id: str) -> str:
        return f"{self.settings.public_base_url}/api/evacuations/{instance_id}"

    def _ordered(self, plans: list[Plan]) -> None:
        """422 InvalidPlanOrder naming each plan and field when the plans' `after` cannot be followed."""
        from failover.evacuation import check_order
        from failover.plan import PlanError

        try:
            check_order(plans)
        except PlanError as err:
            raise ServiceError(422, "InvalidPlanOrder", "; ".join(err.errors)) from None

    async def post_evacuation(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Evacuate a region: every plan whose primary it is, one approval, each plan a child run (tier by tier,
        after the plans it names), one in-flight cap per vault and recovery region (`orchestrations.evacuation`)."""
        from failover.evacuation import plans_in

        try:
            body = validated(EvacuationRequest, read_json(req))
            requested_by, _ = self._start_requester(req, body.requested_by)
            hit = plans_in(body.region, self.plans.values())
            if not hit:
                raise ServiceError(404, "NoPlansInRegion", f"region: no plan has '{body.region}' as its primary region")
            unknown = sorted(set(body.exclude) - {p.name for p in hit})
            if unknown:
                raise ServiceError(
                    422, "InvalidBody", f"exclude: {', '.join(unknown)} is not a plan of the region's evacuation"
                )
            plans = [p for p in hit if p.name not in body.exclude]
            if not plans:
                raise ServiceError(422, "InvalidBody", "exclude: leaves no plan to evacuate")
            self._ordered(plans)
            if body.dry_run:  # the prediction only: nothing starts
                from failover.api.views import evacuation_dry_run

                cap = body.in_flight_cap or self.settings.evacuation_in_flight_cap
                region = plans[0].primary_region
                return await evacuation_dry_run(self._readers(), region, plans, cap, self.settings.time_scale)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        region = plans[0].primary_region
        active = await self._active_evacuation(client, region, plans)
        if active is not None:  # one evacuation of a region at a time: a second start joins it
            log.info("evacuation joined", instance_id=active["instance_id"], region=region, requested_by=requested_by)
            return json_response({**active, "deduplicated": True}, 202)
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
        instance_id = await self._unused_id(client, lambda: f"evacuation-{region}-{stamp}-{token_hex(2)}")
        spec = self._evacuation_input(plans, requested_by, body.reason, None, body.in_flight_cap)
        await client.start_new(EVACUATION_ORCHESTRATOR, instance_id, spec)
        log.info("evacuation started", instance_id=instance_id, region=spec.region, plans=[p.name for p in plans])
        return json_response({**self._evacuation_answer(instance_id, plans), "deduplicated": False}, 202)

    async def _active_evacuation(self, client: DurableClient, region: str, plans: list[Plan]) -> dict[str, Any] | None:
        """The region's evacuation still going (started through the API or by an incident), answered as its start
        was: a second start joins it, as a second start of a plan joins the plan's run, so a region never has two
        cards and two sets of runs. Its plans are its own, read from its input (`plans`, the ones asked for, only if
        the host does not return it); a different `exclude` or cap needs it cancelled first."""
        prefix = f"evacuation-{region}-"
        for status in await self._active_evacuations(client):
            instance_id = str(status.instance_id)
            if not instance_id.startswith(prefix):
                continue
            started = unwrap(json_value(getattr(await client.get_status(instance_id, show_input=True), "input_", None)))
            rows = [
                {"plan": str(p["name"]), "tier": int(p.get("tier") or 0), "after": list(p.get("after") or [])}
                for p in (started.get("plans") if isinstance(started, dict) else None) or []
                if isinstance(p, dict) and p.get("name")
            ]
            answer = self._evacuation_answer(instance_id, plans)
            return {**answer, "plans": rows} if rows else answer
        return None

    @staticmethod
    async def _active_evacuations(client: DurableClient) -> list[Any]:
        """The statuses of the evacuations running, pending or suspended (every instance listed: in Azure
        `failover.api.df_client.PagedClient` reads every page)."""
        return [
            status
            for status in await client.get_status_all()
            if getattr(status, "name", None) == EVACUATION_ORCHESTRATOR
            and runtime_status(status) in ACTIVE
            and getattr(status, "instance_id", None)
        ]

    def _evacuation_input(
        self,
        plans: list[Plan],
        requested_by: str | None,
        reason: str | None,
        trigger: dict[str, Any] | None,
        in_flight_cap: int | None,
    ) -> EvacuationInput:
        return EvacuationInput(
            region=plans[0].primary_region,
            plans=plans,
            requested_by=requested_by,
            reason=reason,
            trigger=trigger,
            time_scale=self.settings.time_scale,
            in_flight_cap=in_flight_cap or self.settings.evacuation_in_flight_cap,
            exclude=[],
        )

    def _evacuation_answer(self, instance_id: str, plans: list[Plan]) -> dict[str, Any]:
        return {
            "instance_id": instance_id,
            "region": plans[0].primary_region,
            "plans": [{"plan": p.name, "tier": p.tier, "after": list(p.after)} for p in plans],
            "status_url": self._evacuation_url(instance_id),
        }

    def _incident_evacuations(self, alert: Alert, matched: list[str]) -> dict[str, list[Plan]]:
        """The plans an incident starts as one evacuation per region: a Service Health incident (not a
        resolution) that matches two or more plans with the same primary region, when
        `FAILOVER_EVACUATE_ON_INCIDENT` is on. Plans the alert did not match (another subscription, a region
        they do not trigger on) are not gathered: the alert policy decides for each plan, as for runs. Plans whose
        `after` cannot be followed among those matched (a plan after one the incident did not match) start a run
        each, as without evacuations, and the log says why."""
        if not self.settings.evacuate_on_incident or not alert.is_service_health or alert.is_resolved:
            return {}
        by_region: dict[str, list[Plan]] = {}
        for name in matched:
            plan = self.plans[name]
            by_region.setdefault(plan.primary_region, []).append(plan)
        gathered: dict[str, list[Plan]] = {}
        for region, plans in by_region.items():
            if len(plans) < 2:
                continue
            try:  # e.g. a plan `after` one the incident did not match: each plan starts its own run, as before
                self._ordered(plans)
            except ServiceError as err:
                log.warning("incident not evacuated: the plans' order", region=region, reason=err.message)
                continue
            gathered[region] = sorted(plans, key=lambda p: (p.tier, p.name))
        return gathered

    async def _record_evacuation_resolution(
        self, client: DurableClient, alert: Alert, plan_names: list[str]
    ) -> list[str]:
        """A Service Health Resolved notice goes to the active evacuations of the regions of the plans it would have
        matched, on their control channel; the evacuation decides (only the notice of the incident that started it
        cancels it, while its card waits: `orchestrations.evacuation`). Its child runs get it as plan holders."""
        regions = {self.plans[name].primary_region for name in plan_names if name in self.plans}
        if not alert.is_service_health or not regions:
            return []
        recorded = []
        for status in await self._active_evacuations(client):
            custom = status.custom_status if isinstance(status.custom_status, dict) else {}
            if custom.get("region") in regions:
                event = {"action": "resolved", "trigger": alert.summary()}
                await client.raise_event(status.instance_id, CONTROL_EVENT, event)
                recorded.append(str(status.instance_id))
        return recorded

    async def _evacuate_for_incident(
        self, client: DurableClient, alert: Alert, plans: list[Plan], trigger: dict[str, Any]
    ) -> dict[str, Any]:
        """Start the evacuation of `plans` for this incident, or join the one it started: its instance id comes
        from the alert (copies and retries of the alert find it; the same alert never starts a second one, even
        once the first has ended: `POST /api/evacuations` starts another). Copies in flight with the first wait
        for it and share its answer (one event loop per host process)."""
        region = plans[0].primary_region
        condition = str(trigger.get("monitor_condition") or "")
        key = (f"evacuation {region}", str(trigger.get("alert_id")), condition)

        async def start(_: Any) -> dict[str, Any]:
            digest = hashlib.sha256(f"{trigger.get('alert_id')}|{condition}".encode()).hexdigest()[:8]
            stamp = "".join(ch for ch in (alert.fired_at or "")[:19] if ch.isalnum())  # 20261123T021427
            instance_id = f"evacuation-{region}-{stamp + 'Z-' if len(stamp) == 15 else ''}{digest}"
            existing = await client.get_status(instance_id)
            deduplicated = bool(existing) and runtime_status(existing) is not None
            if not deduplicated and (active := await self._active_evacuation(client, region, plans)) is not None:
                log.info("evacuation joined by an incident", instance_id=active["instance_id"], region=region,
                         alert_id=trigger.get("alert_id"))  # fmt: skip
                return {**active, "deduplicated": True}  # the region's evacuation already going (one at a time)
            if not deduplicated:
                spec = self._evacuation_input(plans, None, f"incident: {trigger.get('title') or region}", trigger, None)
                await client.start_new(EVACUATION_ORCHESTRATOR, instance_id, spec)
                log.info("evacuation started by an incident", instance_id=instance_id, region=region,
                         plans=[p.name for p in plans], alert_id=trigger.get("alert_id"))  # fmt: skip
            return {**self._evacuation_answer(instance_id, plans), "deduplicated": deduplicated}

        return await self._first_copy(key, start)

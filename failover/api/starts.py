"""Starting runs by request and by timer: `POST /api/failovers`, `/api/drills`, `/api/failbacks`, the monthly
drill and restore-test timer. Each goes through `Runs._start_or_attach` (run ids, the plan's claim, mode
collisions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from failover.api.http import (
    ACTIVE,
    BACKUP_TEST_ORCHESTRATOR,
    EVACUATION_ORCHESTRATOR,
    BackupTestRequest,
    DrillCleanupRequest,
    DrillRequest,
    DurableClient,
    EvacuationRequest,
    FailbackRequest,
    StartRequest,
    error_response,
    json_response,
    log,
    read_json,
    runtime_status,
    validated,
)
from failover.api.runs import Runs
from failover.contracts.backup import BackupTestRunInput
from failover.contracts.run import EvacuationInput
from failover.errors import ServiceError
from failover.plan import Plan


class Starts(Runs):
    async def post_failover(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        try:
            body = validated(StartRequest, read_json(req))
            requested_by, claim = self._start_requester(req, body.requested_by)
            plan = self._plan(body.plan, "plan: ")
            if body.mode == "test":
                self._check_drill(plan, force=False)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        try:
            run = await self._start_or_attach(
                client, plan, mode=body.mode, requested_by=requested_by, requested_by_claim=claim, reason=body.reason
            )
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return json_response(run, 202)

    # ---- drills ---------------------------------------------------------------------------------
    def _check_drill(self, plan: Plan, force: bool) -> None:
        if plan.drill is None:
            raise ServiceError(422, "NoDrillSection", f"plan: '{plan.name}' has no drill section (drill.network_id)")
        now = datetime.fromtimestamp(self.clock(), UTC)
        if not force and not plan.drill.allowed_at(now):
            windows = "; ".join(f"{','.join(w.days)} {w.start}-{w.end} UTC" for w in plan.drill.windows)
            raise ServiceError(
                409,
                "OutsideMaintenanceWindow",
                f"plan '{plan.name}' allows drills only in its maintenance windows ({windows}); use force to override",
            )

    async def post_drill(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """A test failover drill: isolated network, verify, guaranteed cleanup."""
        try:
            body = validated(DrillRequest, read_json(req))
            requested_by, claim = self._start_requester(req, body.requested_by)
            plan = self._plan(body.plan, "plan: ")
            self._check_drill(plan, body.force)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        try:
            run = await self._start_or_attach(
                client, plan, mode="test", requested_by=requested_by, requested_by_claim=claim, reason=body.reason
            )
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return json_response(run, 202)

    async def post_drill_cleanup(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Clean up the test failovers an earlier drill left (a drill whose host crashed): a drill run that
        only runs ASR's test failover cleanup on the plan's recovery plans awaiting it. No approval: it
        removes test VMs from the isolated network and touches nothing in production."""
        try:
            body = validated(DrillCleanupRequest, read_json(req))
            requested_by, claim = self._start_requester(req, body.requested_by)
            plan = self._plan(body.plan, "plan: ")
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        try:
            run = await self._start_or_attach(
                client,
                plan,
                mode="test",
                requested_by=requested_by,
                requested_by_claim=claim,
                reason=body.reason,
                cleanup_only=True,
            )
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return json_response(run, 202)

    async def post_failback(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Fail back once the disaster is mitigated: reprotect, planned failover RecoveryToPrimary in
        batches, DNS and Traffic Manager back to the values the failover recorded, reprotect again."""
        try:
            body = validated(FailbackRequest, read_json(req))
            requested_by, claim = self._start_requester(req, body.requested_by)
            plan = self._plan(body.plan, "plan: ")
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        output = await self._latest_output(client, plan.name, {"failover"}, {"planned", "unplanned"}) or {}
        restore: dict[str, Any] = {"traffic_manager": []}
        if output.get("mode") in ("planned", "unplanned"):
            changed = {d.get("record"): d for d in output.get("dns") or []}
            for endpoint in plan.dns.traffic_manager:
                before = (changed.get(endpoint.label) or {}).get("from")
                if isinstance(before, dict):
                    restore["traffic_manager"].append(
                        {
                            "resource_group": endpoint.resource_group,
                            "subscription_id": endpoint.subscription_id,
                            "profile": endpoint.profile,
                            "endpoint": endpoint.endpoint,
                            "endpoint_type": endpoint.endpoint_type,
                            "status": before.get("status"),
                            "priority": before.get("priority"),
                        }
                    )
        try:
            run = await self._start_or_attach(
                client,
                plan,
                mode="failback",
                requested_by=requested_by,
                requested_by_claim=claim,
                reason=body.reason,
                restore=restore,
            )
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return json_response(run, 202)

    async def scheduled_drills(self, client: DurableClient) -> list[dict[str, Any]]:
        """The monthly drill timer: a drill of every plan with `drill.scheduled`, inside its windows."""
        started = []
        for plan in sorted(self.plans.values(), key=lambda p: p.name):
            if plan.drill is None or not plan.drill.scheduled:
                continue
            try:
                self._check_drill(plan, force=False)
            except ServiceError as err:
                log.info("scheduled drill skipped", plan=plan.name, reason=err.message)
                continue
            try:
                started.append(
                    await self._start_or_attach(
                        client, plan, mode="test", requested_by="schedule", reason="monthly drill (timer)"
                    )
                )
            except ServiceError as err:  # a failover or failback of the plan is running: no drill this month
                log.info("scheduled drill refused", plan=plan.name, reason=err.message)
        started.extend(await self.scheduled_backup_tests(client))
        return started

    async def scheduled_backup_tests(self, client: DurableClient) -> list[dict[str, Any]]:
        """The same monthly timer: a restore test of every `backup_tests[i]` with `scheduled`, as instance
        `backup-test-{plan}-{i}`; one already running is left alone (never two restores of one VM at once)."""
        started = []
        for plan in sorted(self.plans.values(), key=lambda p: p.name):
            for index, test in enumerate(plan.backup_tests):
                if test.scheduled:
                    started.append(await self._start_backup_test(client, plan, index))
        return started

    async def _start_backup_test(self, client: DurableClient, plan: Plan, index: int) -> dict[str, Any]:
        instance_id = f"backup-test-{plan.name}-{index}"
        existing = await client.get_status(instance_id)
        if existing and runtime_status(existing) in ACTIVE:
            return {"instance_id": instance_id, "plan": plan.name, "deduplicated": True}
        spec = BackupTestRunInput(plan=plan, test=index, time_scale=self.settings.time_scale)
        await client.start_new(BACKUP_TEST_ORCHESTRATOR, instance_id, spec)
        log.info(
            "backup restore test started", plan=plan.name, instance_id=instance_id, vm=plan.backup_tests[index].vm.name
        )
        return {"instance_id": instance_id, "plan": plan.name, "deduplicated": False}

    async def post_evacuation(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Evacuate a region: every plan whose primary it is, one approval, each plan a child run (tier by tier,
        after the plans it names), one in-flight cap shared by all (`orchestrations.evacuation`)."""
        from failover.evacuation import check_order, plans_in
        from failover.plan import PlanError

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
            try:
                check_order(plans)
            except PlanError as err:
                raise ServiceError(422, "InvalidPlanOrder", "; ".join(err.errors)) from None
            if body.dry_run:  # the prediction only: nothing starts
                from failover.api.views import evacuation_dry_run

                region, cap = plans[0].primary_region, body.in_flight_cap
                return await evacuation_dry_run(self._readers(), region, plans, cap, self.settings.time_scale)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        region = plans[0].primary_region
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
        instance_id = f"evacuation-{region}-{stamp}-{uuid.uuid4().hex[:4]}"
        spec = EvacuationInput(
            region=region,
            plans=plans,
            requested_by=requested_by,
            reason=body.reason,
            time_scale=self.settings.time_scale,
            in_flight_cap=body.in_flight_cap,
            exclude=[],
        )
        await client.start_new(EVACUATION_ORCHESTRATOR, instance_id, spec)
        log.info("evacuation started", instance_id=instance_id, region=region, plans=[p.name for p in plans])
        answer = {
            "instance_id": instance_id,
            "region": region,
            "plans": [{"plan": p.name, "tier": p.tier, "after": list(p.after)} for p in plans],
            "status_url": f"{self.settings.public_base_url}/api/evacuations/{instance_id}",
        }
        return json_response(answer, 202)

    async def post_backup_test(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Start a restore test of the plan's `backup_tests[test]` (all of them without `test`), as the monthly
        timer does: instance `backup-test-{plan}-{i}`, one still running is attached to, not started again.
        `failover status|list|report` read them (mode `restore-test`)."""
        try:
            body = validated(BackupTestRequest, read_json(req))
            plan = self._plan(body.plan, "plan: ")
            if not plan.backup_tests:
                raise ServiceError(422, "NoBackupTests", f"plan: '{plan.name}' has no backup_tests")
            if body.test is not None and body.test >= len(plan.backup_tests):
                raise ServiceError(
                    422,
                    "InvalidBody",
                    f"test: plan '{plan.name}' has {len(plan.backup_tests)} backup_tests (0 to "
                    f"{len(plan.backup_tests) - 1})",
                )
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        indexes = [body.test] if body.test is not None else list(range(len(plan.backup_tests)))
        runs = [await self._start_backup_test(client, plan, index) for index in indexes]
        return json_response({"runs": runs}, 202)

    # ---- GET /api/failovers[/{id}] -----------------------------------------------------------

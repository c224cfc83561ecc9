"""Reading: health, plans (list, detail, preview, readiness), runs (list with `?plan=` and `?status=`, one run,
its report), and the 30-minute readiness timer. Nothing here changes anything."""

from __future__ import annotations

import asyncio
from typing import Any

import azure.functions as func

from failover.api.base import ApiBase
from failover.api.http import (
    ACTIVE,
    BACKUP_TEST_ORCHESTRATOR,
    EVACUATION_ORCHESTRATOR,
    KEY_REQUESTER,
    ORCHESTRATOR,
    RUN_STATUSES,
    DurableClient,
    Readers,
    error_response,
    html_response,
    json_response,
    log,
    public_status,
    read_json,
    restore_test_view,
    run_output,
    run_view,
    runtime_status,
)
from failover.batching import BatchPlanningError, RecoveryPlanRef
from failover.contracts.readiness import ReadinessRunInput
from failover.errors import ServiceError
from failover.plan import Plan


class Views(ApiBase):
    async def get_health(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return json_response({"status": "ok", "plans": sorted(self.plans), "time": self._now()})

    async def list_plans(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return json_response(
            {
                "plans": [
                    {
                        "name": p.name,
                        "description": p.description,
                        "primary_region": p.primary_region,
                        "recovery_region": p.recovery_region,
                        "mode": p.asr.mode,
                        "groups": [g.name for g in p.groups],
                    }
                    for p in sorted(self.plans.values(), key=lambda p: p.name)
                ]
            }
        )

    async def get_plan(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        name = req.route_params.get("name", "")
        try:
            plan = self._plan(name)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return json_response(plan.model_dump(mode="json"))

    async def get_preview(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Dry run: batches, start offsets, DNS changes, expected recovery time vs the RTO target. Reads
        VM counts from ASR; job durations measured by the plan's last run replace the plan's estimates."""
        name = req.route_params.get("name", "")
        try:
            plan = self._plan(name)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        mode = req.params.get("mode", plan.asr.mode)  # given empty: refused, as the spec says
        if mode not in ("planned", "unplanned", "test"):
            return error_response(422, "InvalidParameter", "mode: must be planned, unplanned or test")
        from failover.preview import measured_durations, preview

        try:
            groups = await asyncio.to_thread(self._readers().read_groups, plan)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        except BatchPlanningError as err:
            return error_response(409, "PlanDoesNotMatchVault", str(err))
        except Exception as err:  # ARM answered with an error: not the caller's fault
            log.warning("preview: vault read failed", plan=name, error=str(err)[:300])
            return error_response(502, "AzureReadFailed", f"reading the vault failed: {type(err).__name__}")
        last_summary = await self._latest_output(client, plan.name, {"failover", "drill"})
        measured = measured_durations(last_summary) if last_summary is not None else {}
        points = None
        read_points = self._readers().read_recovery_points
        if read_points is not None and mode != "test":
            try:
                points = await asyncio.to_thread(read_points, plan)
            except Exception as err:  # the preview stands without them (`recovery_points` null)
                log.warning("preview: recovery points read failed", plan=name, error=str(err)[:300])
        capacity = await self._capacity(plan, groups) if mode in ("planned", "unplanned", "test") else None
        try:
            return json_response(preview(plan, groups, measured or None, mode, points, capacity))
        except BatchPlanningError as err:  # a recovery plan over batch_size: split it in ASR first
            return error_response(409, "RecoveryPlanTooLarge", str(err))

    async def _capacity(self, plan: Plan, groups: list[Any]) -> dict[str, Any] | None:
        """The recovery region's capacity for the plan's recovery plans, or why it could not be read."""
        read = self._readers().read_capacity
        if read is None:
            return None
        names = [ref.name for _, refs in groups for ref in refs]
        try:
            return await asyncio.to_thread(read, plan, names)
        except Exception as err:  # the preview still answers; the capacity part says why it is missing
            log.warning("preview: capacity read failed", plan=plan.name, error=str(err)[:300])
            return {"error": f"reading the recovery region's quotas failed: {type(err).__name__}"}

    async def get_readiness(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Can this plan fail over now? Runs the readiness checks (read-only) and answers pass/warn/fail."""
        name = req.route_params.get("name", "")
        try:
            plan = self._plan(name)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        try:
            check_plan = self._readers().check_plan
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return json_response(await asyncio.to_thread(check_plan, plan))

    async def scheduled_readiness(self, client: DurableClient) -> list[str]:
        """The 30-minute readiness timer: one `readiness_orchestrator` per plan, given the last result so a
        change publishes a CloudEvent. A check still running is left alone."""
        started = []
        for plan in sorted(self.plans.values(), key=lambda p: p.name):
            instance_id = f"readiness-{plan.name}"
            last = await client.get_status(instance_id)
            if last and runtime_status(last) in ACTIVE:
                continue
            previous = run_output(last)
            try:
                await client.start_new(
                    "readiness_orchestrator", instance_id, ReadinessRunInput(plan=plan, previous=previous)
                )
                started.append(instance_id)
            except Exception as err:  # a concurrent timer won: fine
                log.info("readiness check not started", plan=plan.name, error=str(err)[:200])
        return started

    # ---- POST /api/failovers (planned failovers, drills) -------------------------------------
    async def get_failover(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        instance_id = req.route_params.get("instance_id", "")
        try:
            status = await self._run_status(client, instance_id, restore_tests=True)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        if getattr(status, "name", None) == BACKUP_TEST_ORCHESTRATOR:
            return json_response(restore_test_view(instance_id, status, full=True))
        return json_response(run_view(instance_id, status, full=True))

    async def get_evacuation(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """An evacuation: its live status (each plan's row, the approval), then its summary once it has ended."""
        instance_id = req.route_params.get("instance_id", "")
        status = await client.get_status(instance_id)
        if not status or getattr(status, "name", None) != EVACUATION_ORCHESTRATOR:
            return error_response(404, "EvacuationNotFound", f"no evacuation with id '{instance_id}'")
        custom = public_status(status.custom_status) or {}
        output = run_output(status)
        return json_response(
            {
                "instance_id": instance_id,
                "runtime_status": runtime_status(status),
                "status": (output or {}).get("status") or runtime_status(status),
                "stage": custom.get("stage"),
                "region": custom.get("region"),
                "plans": (output or custom).get("plans") or [],
                "eta_seconds": (output or custom).get("eta_seconds"),  # the evacuation's preview, as on its card
                "capacity": (output or custom).get("capacity"),  # every plan together, per recovery region
                "approval": custom.get("approval"),
                "custom_status": custom,
                "output": output,
            }
        )

    async def get_evacuation_report(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """The report of a finished evacuation: each plan's row (its run's recovery time and worst data-loss
        window), the shared cap, the approval; one HTML page, or its facts with `?format=json`."""
        from failover.report.evacuation import evacuation_html, evacuation_report

        instance_id = req.route_params.get("instance_id", "")
        fmt = req.params.get("format", "html").strip().lower()
        if fmt not in ("html", "json"):
            return error_response(422, "InvalidParameter", "format: must be html or json")
        status = await client.get_status(instance_id)
        if not status or getattr(status, "name", None) != EVACUATION_ORCHESTRATOR:
            return error_response(404, "EvacuationNotFound", f"no evacuation with id '{instance_id}'")
        runtime = runtime_status(status)
        summary = run_output(status)
        if runtime in ACTIVE:
            return error_response(409, "RunNotFinished", f"evacuation '{instance_id}' is still running ({runtime})")
        if summary is None:
            return error_response(409, "NoSummary", f"evacuation '{instance_id}' ended {runtime} without a summary")
        runs: dict[str, dict[str, Any]] = {}
        for row in summary.get("plans") or []:
            if row.get("run_id"):
                output = run_output(await client.get_status(row["run_id"]))
                if isinstance(output, dict):
                    runs[row["plan"]] = output
        facts = evacuation_report(summary, runs)
        return json_response(facts) if fmt == "json" else html_response(evacuation_html(facts))

    async def post_evacuation_cancel(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Cancel an evacuation: no further plan starts (the plans' runs already started are cancelled on their
        own, `POST /api/failovers/{evacuation}:{plan}/cancel`)."""
        instance_id = req.route_params.get("instance_id", "")
        try:  # the body first: an oversized or malformed one is refused before the engine is asked anything
            body = read_json(req) if req.get_body() else {}
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        status = await client.get_status(instance_id)
        if not status or getattr(status, "name", None) != EVACUATION_ORCHESTRATOR:
            return error_response(404, "EvacuationNotFound", f"no evacuation with id '{instance_id}'")
        if runtime_status(status) not in ACTIVE:
            return error_response(409, "EvacuationEnded", f"evacuation '{instance_id}' has ended")
        reason = body.get("reason") if isinstance(body, dict) else None
        event = {"action": "cancel", "by": self._principal(req) or KEY_REQUESTER, "reason": reason}
        await client.raise_event(instance_id, "control", event)
        return json_response({"instance_id": instance_id, "cancel_requested": True}, 202)

    async def get_report(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """The run report of a finished run: one HTML page, or its facts with `?format=json`."""
        from failover.report import report_data, report_html

        instance_id = req.route_params.get("instance_id", "")
        fmt = req.params.get("format", "html").strip().lower()
        if fmt not in ("html", "json"):
            return error_response(422, "InvalidParameter", "format: must be html or json")
        try:
            status = await self._run_status(client, instance_id, restore_tests=True)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        runtime = runtime_status(status)
        if runtime in ACTIVE:
            return error_response(409, "RunNotFinished", f"run '{instance_id}' is still running ({runtime})")
        summary = run_output(status)
        if summary is None:
            return error_response(409, "NoSummary", f"run '{instance_id}' ended {runtime} without a summary")
        if getattr(status, "name", None) == BACKUP_TEST_ORCHESTRATOR:  # a restore test: its result
            from failover.report.restore_test import restore_test_html

            return json_response(summary) if fmt == "json" else html_response(restore_test_html(instance_id, summary))
        if fmt == "json":
            return json_response(report_data(summary))
        return html_response(report_html(summary))

    async def list_failovers(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        plan = req.params.get("plan")
        wanted = req.params.get("status", "").strip().lower()
        if "status" in req.params and wanted not in RUN_STATUSES:  # given empty: refused, as the spec says
            return error_response(422, "InvalidParameter", f"status: '{wanted}' is not one of {sorted(RUN_STATUSES)}")
        if plan is not None and plan not in self.plans:
            return error_response(404, "PlanNotFound", f"plan: no plan named '{plan}'")
        runs = []
        for status in await client.get_status_all():
            name = getattr(status, "name", None)
            if name not in (ORCHESTRATOR, BACKUP_TEST_ORCHESTRATOR) or not status.instance_id:
                continue
            view = (
                restore_test_view(status.instance_id, status, full=False)
                if name == BACKUP_TEST_ORCHESTRATOR
                else run_view(status.instance_id, status, full=False)
            )
            if plan and view["plan"] != plan:
                continue
            if wanted and wanted != str(view["status"]).lower():
                continue
            runs.append(view)
        runs.sort(key=lambda r: r["created_at"] or "", reverse=True)
        return json_response({"runs": runs})

    # ---- control: cancel, retry, skip ---------------------------------------------------------


async def evacuation_dry_run(
    readers: Readers, region: str, plans: list[Plan], in_flight_cap: int, time_scale: float
) -> func.HttpResponse:
    """`POST /api/evacuations` with `"dry_run": true`: what the evacuation would do and its predicted recovery time
    (`failover.evacuation_preview`, the figure its card would show), read from the vaults as its run reads them;
    nothing is started. A plan whose recovery plans cannot be read is listed with its `error`. `capacity`: the
    recovery capacity check its run would make before the card (`refused`: the run would refuse)."""
    from failover.evacuation_preview import evacuation_preview

    groups: dict[str, list[tuple[str, list[RecoveryPlanRef]]] | None] = {}
    errors: dict[str, str] = {}
    for plan in plans:
        try:
            groups[plan.name] = await asyncio.to_thread(readers.read_groups, plan)
        except Exception as err:  # as the evacuation's run: on the plan's row, the others still predicted
            groups[plan.name], errors[plan.name] = None, str(err)[:300]
    predicted = evacuation_preview(plans, groups, in_flight_cap, errors, time_scale)
    capacity = await _evacuation_capacity(readers, plans, groups)
    return json_response({"region": region, "dry_run": True, **predicted, "capacity": capacity})


async def _evacuation_capacity(
    readers: Readers, plans: list[Plan], groups: dict[str, list[tuple[str, list[RecoveryPlanRef]]] | None]
) -> dict[str, Any] | None:
    """The evacuation's recovery capacity check, as its run makes it before the card (every plan's needs summed
    per subscription and recovery region, the plans' policies applied: `refused` says the run would refuse)."""
    from failover.evacuation_capacity import regions, verdict

    if readers.read_region_capacity is None:
        return None
    read = readers.read_region_capacity
    asked = regions(plans, {n: [r.name for _, refs in g for r in refs] if g else None for n, g in groups.items()})
    answers: list[dict[str, Any] | None] = []
    errors: list[str | None] = []
    for request in asked:
        try:
            answers.append(await asyncio.to_thread(read, request))
            errors.append(None)
        except Exception as err:  # as the run: that region says why, the others are still checked
            answers.append(None)
            errors.append(str(err).splitlines()[0][:300] if str(err) else type(err).__name__)
    return verdict(plans, asked, answers, errors)

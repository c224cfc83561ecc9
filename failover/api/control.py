"""Controlling a run: cancel, retry or skip a failed recovery plan, and the completion callbacks of custom actions.

Operator commands go to the run's one control channel with a request id and are decided by the run, once:
the handler waits (up to `DECISION_WAIT` seconds) for the run to record its decision on that request id, and
answers 202 when it was accepted, 409 naming what came first when it was refused (a second cancel, a retry of
a plan another operator already retried or skipped). A run that has not answered in time gets 202 with
`"decided": false` (the command is queued on the channel and will be decided when the run reads it).
"""

from __future__ import annotations

import uuid
from typing import Any

import azure.functions as func

from failover.api.base import ApiBase
from failover.api.http import (
    ACTIVE,
    CONTROL_EVENT,
    CallbackRequest,
    CancelRequest,
    DurableClient,
    error_response,
    json_response,
    log,
    optional_json,
    read_json,
    runtime_status,
    validated,
)
from failover.callbacks import verify_callback
from failover.errors import ServiceError

CALLBACK_EVENT = "callback"
DECISION_WAIT = 10.0


class Control(ApiBase):
    async def _active_run(self, client: DurableClient, instance_id: str) -> Any:
        status = await self._run_status(client, instance_id)
        if runtime_status(status) not in ACTIVE:
            raise ServiceError(409, "RunNotActive", f"run '{instance_id}' has ended ({runtime_status(status)})")
        return status

    async def _command(self, client: DurableClient, instance_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        """Raise a control event with a request id and wait for the run's decision on it (None: not yet)."""
        request_id = uuid.uuid4().hex
        self._forget_sightings(instance_id)
        await client.raise_event(instance_id, CONTROL_EVENT, {**event, "request_id": request_id})

        def read(status: Any) -> dict[str, Any] | None:
            custom = (status.custom_status if status else None) or {}
            for request in (custom.get("operator") or {}).get("requests") or []:
                if request.get("request_id") == request_id:
                    return dict(request)
            if not status or runtime_status(status) not in ACTIVE:
                return {"accepted": False, "note": f"the run ended ({runtime_status(status)}) before reading it"}
            return None

        return await self._watch(client, instance_id, read, DECISION_WAIT)

    def _answer(self, instance_id: str, decided: dict[str, Any] | None, body: dict[str, Any]) -> func.HttpResponse:
        if decided is not None and not decided.get("accepted"):
            return error_response(409, "CommandRefused", f"run '{instance_id}': {decided.get('note')}")
        return json_response({**body, "decided": decided is not None, "note": (decided or {}).get("note")}, 202)

    async def post_cancel(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        instance_id = req.route_params.get("instance_id", "")
        try:
            body = validated(CancelRequest, optional_json(req))
            status = await self._active_run(client, instance_id)
            first = ((status.custom_status or {}).get("operator") or {}).get("cancel")
            if first:
                raise ServiceError(
                    409, "AlreadyCancelling",
                    f"run '{instance_id}' is already being cancelled (by {first.get('by')} at {first.get('at')})",
                )  # fmt: skip
            by = self._requester(req, body.requested_by) or "api"
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        decided = await self._command(client, instance_id, {"action": "cancel", "by": by, "reason": body.reason})
        log.info("cancel requested", instance_id=instance_id, by=by, decided=decided)
        return self._answer(
            instance_id,
            decided,
            {"instance_id": instance_id, "status_url": self.status_url(instance_id), "cancel_requested": True},
        )

    async def _plan_action(self, req: func.HttpRequest, client: DurableClient, action: str) -> func.HttpResponse:
        instance_id = req.route_params.get("instance_id", "")
        name = req.route_params.get("recovery_plan", "")
        try:
            body = validated(CancelRequest, optional_json(req))
            status = await self._active_run(client, instance_id)
            blocked = ((status.custom_status or {}).get("operator") or {}).get("blocked") or []
            if name not in blocked:
                raise ServiceError(
                    409,
                    "PlanNotBlocked",
                    f"recovery plan '{name}' is not waiting for an operator in run '{instance_id}'"
                    + (f" (waiting: {', '.join(blocked)})" if blocked else ""),
                )
            by = self._requester(req, body.requested_by) or "api"
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        decided = await self._command(client, instance_id, {"action": action, "recovery_plan": name, "by": by})
        log.info("operator action", instance_id=instance_id, action=action, recovery_plan=name, by=by)
        return self._answer(
            instance_id,
            decided,
            {"instance_id": instance_id, "recovery_plan": name, "action": action, "accepted": True},
        )

    async def post_retry(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return await self._plan_action(req, client, "retry")

    async def post_skip(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return await self._plan_action(req, client, "skip")

    async def post_force(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Run a failed dependency again, forced: a SQL failover group's failover allowing data loss, a NetApp
        volume's force break. The run refuses it (409) for anything else."""
        return await self._plan_action(req, client, "force")

    async def post_callback(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """A custom action reports completion with the URL it was given: signed for this run, this step and this
        call (nonce), until the step's deadline. A replay is refused 409 and changes nothing."""
        instance_id = req.route_params.get("instance_id", "")
        step = req.route_params.get("step", "")
        try:
            claims = verify_callback(
                self.settings.approval_verification_keys(), req.params.get("token", ""), instance_id, step, self.clock()
            )
            body = validated(CallbackRequest, read_json(req))
            status = await self._active_run(client, instance_id)
            waiting = (status.custom_status or {}).get("callbacks") or {}
            if waiting.get(step) != claims.nonce:
                raise ServiceError(
                    409, "CallbackUsed",
                    f"step '{step}' of run '{instance_id}' is not waiting for this callback (already completed, "
                    "timed out, or the step was called again)",
                )  # fmt: skip
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        request_id = uuid.uuid4().hex
        event = {"step": step, "nonce": claims.nonce, "status": body.status, "output": body.output,
                 "at": self._now(), "request_id": request_id}  # fmt: skip
        await client.raise_event(instance_id, CALLBACK_EVENT, event)
        taken_by = await self._callback_taken(client, instance_id, claims.nonce)
        log.info("callback received", instance_id=instance_id, step=step, status=body.status)
        if taken_by is not None and taken_by != request_id:  # a concurrent use of the same URL came first
            return error_response(409, "CallbackUsed", f"step '{step}' of run '{instance_id}' was already completed")
        return json_response({"instance_id": instance_id, "step": step, "accepted": True}, 202)

    async def _callback_taken(self, client: DurableClient, instance_id: str, nonce: str) -> str | None:
        """The request id the run recorded for this callback nonce (None: not within DECISION_WAIT seconds, or the
        run ended first)."""

        def read(status: Any) -> str | None:
            used = ((status.custom_status if status else None) or {}).get("callbacks_used") or {}
            if nonce in used:
                return str(used[nonce])
            return "" if not status or runtime_status(status) not in ACTIVE else None

        return await self._watch(client, instance_id, read, DECISION_WAIT) or None

"""Approvals: the confirm page behind the Teams card's signed links, the decision it posts, and the API way in
(function key + signed-in identity) for when Teams is down. Tokens are bound to the run id, carry the gate's
nonce and an expiry, and are single use: the run records each accepted decision under `nonce:approver`."""

from __future__ import annotations

import uuid
from typing import Any

import azure.functions as func

from failover import approval
from failover.api.base import ApiBase
from failover.api.http import (
    ACTIVE,
    PRINCIPAL_HEADER,
    DecisionRequest,
    DurableClient,
    error_response,
    html_response,
    json_response,
    log,
    read_fields,
    read_json,
    runtime_status,
    validated,
)
from failover.errors import ServiceError
from failover.evacuation import plans_in
from failover.render import render


class Approvals(ApiBase):
    async def _waiting_run(self, client: DurableClient, instance_id: str) -> tuple[Any, dict[str, Any]]:
        status = await self._run_status(client, instance_id, evacuations=True)  # an evacuation has one gate too
        custom = status.custom_status or {}
        gate = custom.get("approval") or {}
        if runtime_status(status) not in ACTIVE or not gate.get("waiting"):
            raise ServiceError(409, "NotWaitingForApproval", "this run is not waiting for an approval")
        return status, gate

    def _check_approver(self, gate: dict[str, Any], approver: str, nonce: str) -> None:
        if not approver:
            raise ServiceError(401, "Unauthenticated", f"sign-in required ({PRINCIPAL_HEADER} is missing)")
        if approver not in {a.lower() for a in gate.get("approvers") or []}:
            raise ServiceError(403, "NotAnApprover", f"{approver} is not an approver of this plan")
        requester = (gate.get("requested_by") or "").lower()
        if requester and approver == requester and not gate.get("allow_requester"):
            raise ServiceError(403, "RequesterCannotApprove", f"{approver} requested this run and cannot approve it")
        if nonce != gate.get("nonce") or f"{nonce}:{approver}" in (gate.get("used") or {}):
            raise ServiceError(409, "TokenUsed", "this approval link was already used")

    async def _decide(
        self, req: func.HttpRequest, client: DurableClient, instance_id: str, approver: str, nonce: str, fields: dict
    ) -> func.HttpResponse:
        """Raise the `approval` event, then answer once the run has recorded it (or not)."""
        request_id = uuid.uuid4().hex
        event = {
            "decision": fields["decision"],
            "approver": approver,
            "comment": str(fields.get("comment") or "")[:500] or None,
            "exclude": list(fields.get("exclude") or []),
            "nonce": nonce,
            "request_id": request_id,
            "at": self._now(),
        }
        self._forget_sightings(instance_id)
        await client.raise_event(instance_id, "approval", event)
        key = f"{nonce}:{approver}"
        # The run is the single-use record: of two requests racing with one link, the run records
        # exactly one request id under nonce:approver; the other is answered 409.
        recorded_by = await self._recorded(client, instance_id, key)
        public = {k: v for k, v in event.items() if k not in ("nonce", "request_id") and (k != "exclude" or v)}
        log.info("approval", instance_id=instance_id, approver=approver, decision=event["decision"])
        if recorded_by is None:
            return json_response({"instance_id": instance_id, "accepted": public}, 202)
        if recorded_by != request_id:
            return error_response(
                409, "TokenUsed" if recorded_by else "NotWaitingForApproval",
                "this approval link was already used" if recorded_by else "the run stopped waiting for approval",
            )  # fmt: skip
        if req.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            message = f"Recorded: {event['decision']} by {approver}"
            return html_response(render("page.html", title="Decision recorded", message=message))
        return json_response({"instance_id": instance_id, "recorded": public}, 200)

    async def _recorded(self, client: DurableClient, instance_id: str, key: str) -> str | None:
        """Wait (up to ~10 s) for the run to record a decision under `key`. Returns the request id it
        recorded, "" if the run stopped waiting without it, None if it has not answered yet."""

        def read(status: Any) -> str | None:
            gate = ((status.custom_status or {}).get("approval") or {}) if status else {}
            used = gate.get("used") or {}
            if key in used:
                return str(used[key])
            return None if gate.get("waiting", False) else ""

        return await self._watch(client, instance_id, read, 10.0, interval=0.1)

    def _verify(self, token: str, instance_id: str) -> approval.TokenClaims:
        return approval.verify(self.settings.approval_verification_keys(), token, instance_id, self.clock())

    async def get_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """The confirm page behind the card's link. Link scanners open it: it changes nothing."""
        instance_id = req.route_params.get("instance_id", "")
        token = req.params.get("token", "")
        try:
            claims = self._verify(token, instance_id)
            status, gate = await self._waiting_run(client, instance_id)
        except ServiceError as err:
            return html_response(render("page.html", title="Approval", message=err.message), err.status)
        verb = "Approve" if claims.decision == "approve" else "Reject"
        custom = status.custom_status or {}
        return html_response(
            render(
                "approval.html",
                title=f"{verb} failover",
                verb=verb,
                mode=str(custom.get("mode", "")),
                plan=str(custom.get("plan", "")),
                instance_id=instance_id,
                exclude=claims.exclude,
                required=int(gate.get("required") or 0),
                expires_at=gate.get("expires_at") or "",
                token=token,
                decision=claims.decision,
            )
        )

    async def post_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Record a decision from a signed link: verify token, identity and state, raise `approval`."""
        instance_id = req.route_params.get("instance_id", "")
        try:
            fields = read_fields(req)
            token, decision = fields.get("token", ""), fields.get("decision", "")
            if decision not in approval.DECISIONS:
                raise ServiceError(422, "InvalidDecision", "decision: must be 'approve' or 'reject'")
            claims = self._verify(token, instance_id)
            if claims.decision != decision:
                raise ServiceError(403, "InvalidToken", f"this link is for '{claims.decision}', not '{decision}'")
            approver = self._principal(req)
            _, gate = await self._waiting_run(client, instance_id)
            self._check_approver(gate, approver, claims.nonce)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        decided: dict[str, Any] = {**fields, "exclude": list(claims.exclude)}  # the signed link's, never the form's
        return await self._decide(req, client, instance_id, approver, claims.nonce, decided)

    async def post_api_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Approve or reject through the API (function key + signed-in identity): the way in when
        Teams is down. The same approver list, quorum and single-decision rule apply."""
        instance_id = req.route_params.get("instance_id", "")
        try:
            body = validated(DecisionRequest, read_json(req))
            approver = self._principal(req)
            status, gate = await self._waiting_run(client, instance_id)
            self._check_approver(gate, approver, str(gate.get("nonce") or ""))
            custom = status.custom_status or {}
            if custom.get("kind") == "evacuation":  # every plan of the region may be left out (its status lists some)
                region = str(custom.get("region") or "")
                gate = {
                    **gate,
                    "excludable": [{"recovery_plan": p.name} for p in plans_in(region, self.plans.values())],
                }
            _check_exclude(body, gate)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        fields = {"decision": body.decision, "comment": body.comment, "exclude": body.exclude}
        return await self._decide(req, client, instance_id, approver, str(gate.get("nonce")), fields)


def _check_exclude(body: DecisionRequest, gate: dict[str, Any]) -> None:
    """`exclude` names recovery plans of the gate's `excludable` (those that cannot fail over as they are), and
    only with an approval."""
    if not body.exclude:
        return
    if body.decision != "approve":
        raise ServiceError(422, "InvalidBody", "exclude: only an approval can exclude recovery plans")
    excludable = {e.get("recovery_plan") for e in gate.get("excludable") or []}
    unknown = [name for name in body.exclude if name not in excludable]
    if unknown:
        offered = ", ".join(sorted(n for n in excludable if n)) or "none"
        raise ServiceError(
            422,
            "InvalidBody",
            f"exclude: {', '.join(unknown)} cannot be excluded (the run offers: {offered})",
        )

"""One active run per plan: the plan's claim, a Durable entity (`plan_claim@{plan}`).

Why it cannot race: a Durable entity processes its operations one at a time, in order, on both hosts (Durable
Functions: "entity operations are executed serially"; durabletask's in-memory backend keeps one in-flight batch per
entity). Every run asks the entity for its plan's claim as its first step (`claim`, a call with a response), so
of N runs started at once by N concurrent alerts exactly one is granted; the others are refused with the holder's
id, and the HTTP handler that started a refused run attaches its trigger to the holder and purges the refused
run. A run gives the claim back when it ends (`release`).

A run that ended without releasing (its host crashed, or it was terminated) leaves a stale claim: the handler,
seeing the holder ended, names it in the next run's claim (`stale`), and the entity hands the claim over only if
the holder is still that run (compare and set). A real failover superseding a drill reserves the claim (`next`):
it is granted the moment the drill, cancelled and cleaned up, releases it, and no other run can take it first.

`apply` is the entity's whole logic, a pure function; each host wraps it (`orchestrations.claim` for Durable
Functions, `local.engine` for durabletask).
"""

from __future__ import annotations

from typing import Any

ENTITY = "plan_claim"


def empty() -> dict[str, Any]:
    return {"holder": None, "next": None, "history": []}


HISTORY = 10  # the latest grants and releases kept in the entity's state (for an operator reading it)


def apply(state: dict[str, Any] | None, operation: str, request: Any) -> tuple[dict[str, Any], Any]:
    """One entity operation: (state, operation, input) → (new state, result)."""
    state = {**empty(), **(state or {})}
    request = request if isinstance(request, dict) else {}
    run_id = str(request.get("run_id") or "")
    holder, reserved = state["holder"], state["next"]
    stale = {str(s) for s in request.get("stale") or []}
    if operation == "get":
        return state, state
    if operation == "release":
        if holder and holder.get("run_id") == run_id:
            state["holder"] = None
            state["history"] = [*state["history"], {"released": run_id, "at": request.get("at")}][-HISTORY:]
        return state, {"released": bool(holder and holder.get("run_id") == run_id)}
    if operation != "claim" or not run_id:
        return state, {"granted": False, "error": f"unknown operation '{operation}' or no run_id"}
    if holder and holder.get("run_id") in stale:
        holder = None  # the handler saw it end without releasing
    if reserved and reserved in stale:
        reserved = None
    if holder is None or holder.get("run_id") == run_id:
        if reserved and reserved != run_id:
            state["next"] = reserved
            return state, {"granted": False, "holder": {"run_id": reserved, "reserved": True}}
        granted = {k: request.get(k) for k in ("run_id", "mode", "at", "supersedes")}
        state.update(holder=granted, next=None)
        state["history"] = [*state["history"], {"granted": run_id, "at": request.get("at")}][-HISTORY:]
        return state, {"granted": True, "holder": granted}
    if request.get("supersedes") and request.get("supersedes") == holder.get("run_id") and reserved in (None, run_id):
        state.update(holder=holder, next=run_id)  # the drill ends (cancelled, cleaned up); this run goes next
        return state, {"granted": False, "holder": holder, "next": run_id}
    state.update(holder=holder, next=reserved)
    return state, {"granted": False, "holder": holder}

"""The failover orchestration: the region-evacuation runbook as a durable workflow (entry point of every mode).

Stages: take the plan's claim (one active run per plan) → resolve recovery plans and batches → preflight (it
refuses the run when `recovery: provision` cannot build its session hosts) → recovery capacity → approval gate →
by mode: failover (AVD drain, message, grace, log off → groups of batches → standby → session hosts provisioned →
verify → DNS and Traffic Manager), drill (`orchestrations.drill`) or failback (`orchestrations.failback`) →
summary, claim released. A CloudEvent is published at every step, the custom status always says where the run is,
and the control channel (`orchestrations.control`) is open at every wait.

Modules: `run_state` (the run's state, status and summary), `control` (the control channel), `approval_gate`,
`avd`, `dispatch` (groups and batches for every mode), `runbook` (dependencies, standby, verify, Traffic
Manager, ASR job watching), `drill`, `failback`, `claim`.

Deterministic: no I/O, no wall clock, no randomness, no settings reads. Plan durations are divided by the run's
`time_scale` (1 in production; the demo compresses 10-minute spacing into seconds).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from failover.batching import Batch, batch_limit, groups_from_resolved, plan_batches
from failover.contracts.dns import DnsRecordInput, DnsSwitchInput
from failover.contracts.network import PreflightInput
from failover.contracts.run import RunInput, RunSummary
from failover.plan import DnsRecord
from failover.run import overall_status
from orchestrations import capacity, claim, runbook
from orchestrations.approval_gate import approval_gate
from orchestrations.avd import evacuate_avd
from orchestrations.dispatch import run_groups
from orchestrations.drill import drill
from orchestrations.failback import failback
from orchestrations.provision import provision_session_hosts
from orchestrations.run_state import Run


def failover_orchestrator(context: df.DurableOrchestrationContext):
    """Input: `RunInput` (`failover.run.build_run_input(...)`). Output: `RunSummary`."""
    spec = context.get_input()
    if not isinstance(spec, RunInput):  # started with plain JSON (a script calling the Durable API directly)
        spec = RunInput.model_validate(spec)
    summary = yield from _failover(context, spec)
    # Validated against the contract, returned as its JSON: azure-functions-durable 1.7's executor refuses a
    # custom object as an orchestration's output (TaskOrchestrationExecutor checks it with a plain json.dumps).
    return RunSummary.model_validate(summary).plain()


STAGES = {"CompletedWithErrors": "completed with errors"}  # the final stage of each outcome (else lower case)


def end_run(run: Run, status: str, event: str, data: dict[str, Any], stage: str | None = None):
    """Publish the final status (stage: the outcome, unless given) and event, give the plan's claim back,
    return the summary."""
    yield from capacity.collect(run)  # a check still running in the background: its result is in the report
    run.outcome = status
    run.publish_status(stage or STAGES.get(status, status.lower()))
    yield from run.events.publish(event, "run", {"status": status, **data})
    summary = run.summary(status)
    if (run.claim or {}).get("granted"):
        claim.release(run)
    return summary


def _failover(context: df.DurableOrchestrationContext, spec: RunInput):
    run = Run(context, spec.plan, spec)
    run.begin("claim")
    run.publish_status("claiming the plan")
    answer = yield from claim.take(run, spec)
    if not answer.get("granted"):
        holder = (answer.get("holder") or {}).get("run_id")
        run.end("claim", "Failed")
        run.errors.append(
            f"run {holder} of plan {spec.plan.name} is active: this run did not start"
            if not run.cancel
            else f"cancelled by {run.cancel.get('by')} while waiting for the plan's claim"
        )
        run.outcome = "Cancelled" if run.cancel else "Failed"
        run.publish_status("not started")
        return run.summary(run.outcome)  # nothing was done: no event, no claim to give back
    run.end("claim")
    try:
        return (yield from _runbook(run, spec))
    except Exception:
        claim.release(run)  # the run fails visibly; the plan is not left claimed by it
        raise


def _runbook(run: Run, spec: RunInput):
    plan = run.plan
    run.begin("resolve")
    run.publish_status("reading recovery plans")
    # RunStarted goes out beside the recovery plans' read (one round trip, not two, before the first failover)
    announced = run.events.send(
        "RunStarted",
        "run",
        {"mode": run.mode, "triggers": run.triggers, "requested_by": run.requested_by, "supersedes": spec.supersedes},
    )
    try:
        batches: list[Batch] = yield from _resolve(run)
    except Exception as err:  # a plan that does not match the vault: nothing was touched
        yield from run.events.settle(announced)
        run.errors.append(f"cannot plan batches: {err}")
        run.end("resolve", "Failed")
        return (yield from end_run(run, "Failed", "RunFailed", {"errors": run.all_errors()}))
    yield from run.events.settle(announced)
    run.end("resolve")
    run.batches = [b.to_dict() for b in batches]
    leftovers = run.leftover_drills if run.mode in ("planned", "unplanned") else []
    if leftovers:  # on the approval card: what approving will do first, or approve without them, or reject
        run.warnings.append(
            f"a test failover awaits cleanup on {', '.join(leftovers)} (a drill left it, ASR refuses a failover "
            "until then): approving cleans it up first, before anyone is signed out; approve without them to "
            "leave them out; reject to leave it"
        )
        run.approval["excludable"] = [
            {
                "recovery_plan": name,
                "why": "a test failover awaits cleanup (a drill left it; ASR refuses a failover until then)",
                "approving": "cleans it up first, before anyone is signed out",
            }
            for name in leftovers
        ]
    refused = run.refused_plans if run.mode in ("planned", "unplanned") else {}
    if refused:  # ASR offers no failover of them: approving fails them (reported), or approve without them
        run.warnings.append(
            f"ASR offers no failover of {', '.join(sorted(refused))} now: approving tries and reports them failed; "
            "approve without them to leave them out"
        )
        run.approval.setdefault("excludable", []).extend(
            {"recovery_plan": name, "why": why, "approving": "ASR will refuse it: reported failed"}
            for name, why in sorted(refused.items())
        )
    run.publish_status()
    yield from preflight(run)
    if _provisioning_refused(run):  # `recovery: provision` cannot build its session hosts: before anything changes
        return (yield from end_run(run, "Failed", "RunFailed", {"errors": run.all_errors()}, "refused: provisioning"))
    if not (yield from capacity.check(run, batches)):  # the plan's capacity policy (block) refuses it
        return (yield from end_run(run, "Failed", "RunFailed", {"errors": run.all_errors()}, "refused: capacity"))

    if run.policy.required > 0 and not run.cancel:
        outcome = yield from approval_gate(run, batches)
        if outcome == "reject":
            decisions = {"decisions": run.approval["decisions"]}
            return (yield from end_run(run, "Rejected", "RunRejected", decisions))
    if run.cancel and not run.batches_started:
        run.errors.append(f"cancelled by {run.cancel.get('by')} before anything was changed")
        return (yield from end_run(run, "Cancelled", "RunCancelled", {"cancel": run.cancel_record()}))

    if run.mode == "test":
        return (yield from drill(run, batches, end_run))
    if run.mode == "failback":
        return (yield from failback(run, batches, dict(spec.restore), end_run, record_ref))

    if run.excluded:  # approved without them: they are not failed over, and their drills stay as they are
        batches = _without(batches, run.excluded)
        run.batches = [b.to_dict() for b in batches]
        leftovers = [name for name in leftovers if name not in run.excluded]
    if leftovers and not run.cancel and not (yield from _clean_leftover_drills(run, leftovers)):
        run.errors.append(
            "the leftover test failovers could not be cleaned up: nobody was signed out, nothing failed over"
        )
        return (yield from end_run(run, "Failed", "RunFailed", {"errors": run.all_errors()}))
    signed_out = yield from evacuate_avd(run)
    if not signed_out and not run.cancel:  # users still signed in and nobody decided: no failover
        return (yield from end_run(run, "Failed", "RunFailed", {"errors": run.all_errors()}))
    outcome = "cancelled"
    if not run.cancel:
        run.begin("failover")
        run.publish_status("failing over")
        outcome = yield from run_groups(run, batches)
        run.end(
            "failover",
            {"cancelled": "Cancelled", "stopped": "Failed"}.get(outcome)
            or ("Succeeded" if not run.plan_errors else "CompletedWithErrors"),
        )
    if outcome == "completed" and not run.cancel:
        yield from runbook.start_standby(run)
    if outcome == "completed" and not run.cancel:
        yield from provision_session_hosts(run)
    if outcome == "completed" and not run.cancel:
        yield from runbook.verify(run)
        assert run.verify is not None
        if run.cancel:  # accepted during verify: DNS and Traffic Manager stay as they are
            run.errors.append("DNS and Traffic Manager were not switched: cancelled during verify")
        elif run.verify["healthy"] or not (plan.verify and plan.verify.required_for_dns):
            yield from _switch_dns(run)
            yield from runbook.switch_traffic_manager(run)
        else:
            run.errors.append("DNS and Traffic Manager were not switched: verify found the recovery region unhealthy")
    elif outcome == "stopped":
        run.errors.append("DNS was not switched because a group stopped the failover")
    if run.cancel:
        record = run.cancel_record() or {}
        run.errors.append(
            f"cancelled by {run.cancel.get('by')}: {record.get('batches_started_after', 0)} batches started after "
            f"the cancel; not done after it: every step not listed as done"
        )
        return (yield from end_run(run, "Cancelled", "RunCancelled", {"cancel": record}))

    results = [run.batch_results[i] for i in sorted(run.batch_results)]
    final = [{"status": p["state"]} for p in run.final_plans()] or results
    status = overall_status(final, run.all_errors()) if outcome == "completed" else "CompletedWithErrors"
    achieved = run.summary(status)
    return (
        yield from end_run(
            run,
            status,
            "RunCompleted",
            {"rto_seconds": achieved["rto_seconds"], "rto_met": achieved["rto_met"],
             "vms_failed_over": achieved["vms_failed_over"]},
        )
    )  # fmt: skip


def _resolve(run: Run):
    """Read the vault's recovery plans and pack them into batches. Returns the batch list."""
    plan = run.plan
    resolved = yield from run.call("asr_resolve_recovery_plans", plan.resolve_request(run.context.instance_id))
    groups = groups_from_resolved(resolved, plan.asr.vault)
    run.leftover_drills = [p.name for g in resolved.groups for p in g.recovery_plans if p.test_failover_pending]
    run.refused_plans = {
        p.name: p.failover_refused for g in resolved.groups for p in g.recovery_plans if p.failover_refused
    }
    return plan_batches(groups, batch_limit(groups, plan.batch_size, run.in_flight_cap))


def _without(batches: list[Batch], excluded: list[str]) -> list[Batch]:
    """The batches without the excluded recovery plans (a batch left empty is dropped; indexes are kept)."""
    kept = []
    for batch in batches:
        plans = tuple(p for p in batch.recovery_plans if p.name not in excluded)
        if plans:
            kept.append(Batch(group=batch.group, index=batch.index, recovery_plans=plans))
    return kept


def _clean_leftover_drills(run: Run, recovery_plans: list[str]):
    """Clean up the test failovers a drill left (ASR refuses a failover until then), before the irreversible
    steps. Returns True when every one is cleaned up."""
    run.begin("cleanup leftover drills")
    run.publish_status("cleaning up leftover test failovers")
    outcome = yield from runbook.plan_jobs(
        run, "asr_test_cleanup", recovery_plans, {"comments": f"leftover drill cleaned up by {run.context.instance_id}"}
    )
    failed = {k: v for k, v in outcome.items() if v.startswith("Failed")}
    for name, why in failed.items():
        run.errors.append(f"leftover test failover of {name}: {why.removeprefix('Failed: ')}")
    run.end("cleanup leftover drills", "Cancelled" if run.cancel else "Failed" if failed else "Succeeded")
    yield from run.events.publish(
        "DrillCleanupCompleted",
        "drill",
        {"cleanup": "failed" if failed else "done", "recovery_plans": outcome, "leftover": True},
    )
    return not failed and not run.cancel


def preflight(run: Run):
    """Network (recovery VNet, gateways to on-premises, ASR network mappings) and identity (domain controllers in
    or from the recovery region) checks, before the failover is proposed. A failed check does not stop the run (a
    person decides, seeing it on the card); it is recorded as an error of the run."""
    plan = run.plan
    if (plan.network is None and plan.identity is None and not plan.avd.provisioned) or run.mode == "failback":
        return
    if run.cancel:
        return
    run.begin("preflight")
    run.publish_status("checking network and identity")
    try:
        checked = yield from run.call(
            "preflight_checks", PreflightInput(instance_id=run.context.instance_id, plan=plan)
        )
        run.preflight = checked.plain()
    except Exception as err:
        run.preflight = {
            "status": "fail",
            "checks": [{"name": "preflight", "status": "fail", "message": str(err)[:300]}],
        }
    assert run.preflight is not None
    for check in run.preflight["checks"]:
        if check["status"] == "fail":
            run.errors.append(f"preflight {check['name']}: {check['message']}")
    run.approval["preflight"] = run.preflight["status"]
    run.end("preflight", "Failed" if run.preflight["status"] == "fail" else "Succeeded")
    run.publish_status()
    yield from run.events.publish("PreflightCompleted", "preflight", run.preflight)


def _provisioning_refused(run: Run) -> bool:
    """The preflight found that the session hosts of `recovery: provision` cannot be built (check `provision`
    failed on a finding: template, image, subnet or VM size; not on a read that failed). The run refuses then,
    before anyone is signed out: found now, not mid-outage when the VMs would be created."""
    checks = (run.preflight or {}).get("checks") or []
    found = [
        c for c in checks
        if c["name"] == "provision" and c["status"] == "fail" and not c["message"].startswith("read failed")
    ]  # fmt: skip
    if found and run.mode in ("planned", "unplanned", "test"):
        run.errors.append(
            "the session hosts of recovery: provision cannot be built in the recovery region: the run was refused "
            "before anything was changed (nobody signed out, no failover started). Fix the host pool's vmTemplate, "
            "image, subnet or VM size (readiness shows each finding), or set the pool's recovery to none"
        )
        return True
    return False


def _switch_dns(run: Run):
    plan = run.plan
    if not plan.dns.records:
        return
    run.begin("dns")
    run.publish_status("switching dns")
    for record in plan.dns.records:
        if run.cancel:  # nothing new after a cancel: the records not switched yet stay as they are
            run.errors.append(f"dns {record.label}: not switched (cancelled)")
            continue
        result = yield from run.call(
            "dns_switch_record",
            DnsSwitchInput(**record_ref(run, record).model_dump(), target=record.target, ttl=record.ttl),
        )
        run.dns.append(result.plain())
    run.end("dns", "Cancelled" if run.cancel else "Succeeded")
    yield from run.events.publish("DnsSwitched", "dns", {"records": run.dns})


def record_ref(run: Run, record: DnsRecord) -> DnsRecordInput:
    """A record set of the plan, as the DNS activities' inputs name it."""
    return DnsRecordInput(
        **run.ids,
        subscription_id=record.subscription_id or run.plan.subscription_id,
        resource_group=record.resource_group,
        zone=record.zone,
        name=record.name,
        type=record.type,
    )


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(failover_orchestrator)

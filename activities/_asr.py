"""What the ASR activities share: a recovery plan's state as ASR reports it (current scenario, allowed
operations, where its VMs are active), and posting an operation then attaching to the job it started."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceExistsError
from azure.core.rest import HttpRequest

from activities._common import arm
from failover.contracts import StartAction
from failover.contracts.asr import StartFailoverInput
from failover.run import isoformat

if TYPE_CHECKING:
    from azure.mgmt.recoveryservicessiterecovery.models import RecoveryPlanProviderSpecificFailoverInput

ASR_API_VERSION = "2025-08-01"  # the api-version the Site Recovery SDK's own operations send
FAILOVER_SCENARIOS = {"plannedfailover", "unplannedfailover"}
TEST_SCENARIO = "testfailover"
CLEANUP_SCENARIO = "testfailovercleanup"
REPROTECT_SCENARIOS = {"reversereplication", "reversereplicate", "reprotect"}  # ASR's plans say ReverseReplication
_ITEM_PATH = ("replicationfabrics", "replicationprotectioncontainers", "replicationprotecteditems")


def _item_names(item_id: str) -> tuple[str, str, str] | None:
    """(fabric, protection container, protected item) of a replication protected item's ARM id (under its
    vault: `.../vaults/{vault}/replicationFabrics/{fabric}/replicationProtectionContainers/{container}/
    replicationProtectedItems/{item}`, any case); None for any other id."""
    from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id

    if not is_valid_resource_id(item_id):  # parse_resource_id would read a valid prefix of it
        return None
    parts = parse_resource_id(item_id)
    if parts.get("last_child_num") != len(_ITEM_PATH) or any(k.startswith("child_namespace_") for k in parts):
        return None
    if tuple(str(parts.get(f"child_type_{n}", "")).lower() for n in (1, 2, 3)) != _ITEM_PATH:
        return None
    return str(parts["child_name_1"]), str(parts["child_name_2"]), str(parts["child_name_3"])


def _vm_count(plan: Any) -> int:
    return sum(len(g.replication_protected_items or []) for g in plan.properties.groups or [])


def _scenario(plan: Any) -> tuple[str, str | None, str | None]:
    """(scenario name lower-cased, job name, scenario status) of the plan's current scenario."""
    current = plan.properties.current_scenario
    if not current:
        return "", None, None
    job_id = current.job_id or ""
    return (
        (current.scenario_name or "").lower(),
        job_id.rsplit("/", 1)[-1] or None,
        plan.properties.current_scenario_status,
    )


def _scenario_start(plan: Any) -> str | None:
    """When the plan's current scenario (its job) started, ISO 8601 UTC; None when ASR gives no time."""
    current = plan.properties.current_scenario
    started = current.start_time if current is not None else None
    if started is None or started.year < 2000:  # ASR's placeholder scenario says 1753-01-01
        return None
    return str(isoformat(started))


def _provider_details(
    payload: StartFailoverInput, direction: str = "PrimaryToRecovery"
) -> list[RecoveryPlanProviderSpecificFailoverInput]:
    """The provider-specific input of a (test) failover or failback, for the plan's replication provider.

    A2A: the recovery point to fail over to, in either direction. HyperVReplicaAzure (Azure Local / Hyper-V to
    Azure): to Azure, the recovery point (ASR offers Latest, LatestApplicationConsistent, LatestProcessed); back
    on premises (RecoveryToPrimary, a planned failover), `HyperVReplicaAzureFailback` with the data sync option
    and the alternate location recovery option (`CreateVmIfNotFound`: a VM that is gone is created on a host of
    the site, which may be another cluster).
    """
    from azure.mgmt.recoveryservicessiterecovery.models import (
        RecoveryPlanA2AFailoverInput,
        RecoveryPlanHyperVReplicaAzureFailbackInput,
        RecoveryPlanHyperVReplicaAzureFailoverInput,
    )

    if payload.replication_provider != "HyperVReplicaAzure":
        return [RecoveryPlanA2AFailoverInput(recovery_point_type=payload.recovery_point_type or "Latest")]
    if direction == "RecoveryToPrimary":
        return [
            RecoveryPlanHyperVReplicaAzureFailbackInput(
                data_sync_option=payload.failback_data_sync or "ForSynchronization",
                recovery_vm_creation_option=payload.failback_vm_creation or "CreateVmIfNotFound",
            )
        ]
    point = payload.recovery_point_type
    if point == "LatestCrashConsistent":  # not a HyperVReplicaAzure recovery point type: ASR's default instead
        point = None
    return [RecoveryPlanHyperVReplicaAzureFailoverInput(recovery_point_type=point or "Latest")]


def _allowed(plan: Any) -> set[str]:
    return {op.lower() for op in plan.properties.allowed_operations or []}


def _describe(plan: Any) -> str:
    """The plan's allowed operations and current scenario, for error messages."""
    _, job, status = _scenario(plan)
    allowed = sorted(plan.properties.allowed_operations or []) or "none"
    current = plan.properties.current_scenario
    if current is None:
        return f"allowed operations are {allowed}"
    return f"allowed operations are {allowed}; current scenario {current.scenario_name} {status} (job {job})"


def _active_location(site: Any, rg: str, vault: str, plan: Any) -> str | None:
    """Where the plan's VMs are active (`Primary` | `Recovery`), read from its first protected item: the plan
    itself does not say (after reprotect it offers the same operations on either side). None: no items."""
    for group in plan.properties.groups or []:
        for ref in group.replication_protected_items or []:
            names = _item_names(ref.id or "")
            if names:
                item = site.replication_protected_items.get(rg, vault, *names)
                return item.properties.active_location if item.properties else None
    return None


class _Refused(RuntimeError):
    """ASR refused an operation (409) and the plan runs no job of that kind."""


def _post(
    client: Any, rg: str, vault: str, name: str, post: Callable[[], Any], scenarios: set[str], what: str
) -> tuple[StartAction, str]:
    """`_post_job` without the job's start time."""
    action, job, _ = _post_job(client, rg, vault, name, post, scenarios, what)
    return action, job


def _post_job(
    client: Any, rg: str, vault: str, name: str, post: Callable[[], Any], scenarios: set[str], what: str
) -> tuple[StartAction, str, str | None]:
    """POST an operation (without polling), then read the plan's current job: (`started` | `attached`, job, when
    the job started as ASR says).

    A 409 means a job of that kind already runs (another caller) - attached - or ASR refused: then the
    plan's current scenario is of another kind and this raises with ASR's message and the allowed operations.
    """
    refused: ResourceExistsError | None = None
    action: StartAction
    try:
        # Not idempotent: retried only when refused (429) or never sent; a lost answer goes up to the
        # activity's durable retry, which re-reads the plan and attaches to the job it finds.
        arm(post, idempotent=False)
        action = "started"
    except ResourceExistsError as err:
        action, refused = "attached", err  # another caller started it between our read and our POST?
    plan = client.get(rg, vault, name)
    scenario, job, _ = _scenario(plan)
    if scenario in scenarios and job:
        return action, job, _scenario_start(plan)
    if refused is not None:
        detail = refused.error.message if refused.error is not None and refused.error.message else str(refused)
        raise _Refused(f"recovery plan {name}: ASR refused the {what}: {detail} ({_describe(plan)})")
    raise RuntimeError(f"recovery plan {name}: {what} accepted but no {what} job is reported in currentScenario")


def _is_failed_over(plan: Any) -> bool:
    allowed = {op.lower() for op in plan.properties.allowed_operations or []}
    scenario, _, status = _scenario(plan)
    committed = scenario == "commitfailover" and status == "Succeeded"
    return (
        "commit" in allowed
        or "reversereplicate" in allowed
        or committed
        or (scenario in FAILOVER_SCENARIOS and status == "Succeeded")
    )


def plan_items(client: Any, rg: str, vault: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """The protected items the recovery plans list: lower-cased item id -> (recovery plan, item id), the first
    plan naming an item keeps it. Raises for a plan that comes back without properties."""
    items: dict[str, tuple[str, str]] = {}
    for name in names:
        plan = client.replication_recovery_plans.get(rg, vault, name).properties
        if plan is None:
            raise RuntimeError(f"recovery plan {name} came back without properties")
        for group in plan.groups or []:
            for ref in group.replication_protected_items or []:
                if ref.id:
                    items.setdefault(ref.id.lower(), (name, ref.id))
    return items


def protected_items_json(client: Any, subscription_id: str, rg: str, vault: str) -> Iterator[dict[str, Any]]:
    """The vault's replication protected items as ARM's JSON, page after page (`nextLink`), read through the SDK
    client's own pipeline (credential, retries, base URL) without building each item's model: about 1.3 ms of CPU
    an item, 13 s at 10,000 VMs, on the critical path of every run before its approval (the capacity check and
    the replication health check each read the vault's items); in an alert storm, a fifth of the run's first work,
    in the process that answers the storm (docs/performance.md)."""
    url: str | None = (
        f"/subscriptions/{subscription_id}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/"
        f"{vault}/replicationProtectedItems?api-version={ASR_API_VERSION}"
    )
    while url:
        response = client.send_request(HttpRequest("GET", url))
        response.raise_for_status()
        page = response.json() or {}
        yield from (item for item in page.get("value") or [] if isinstance(item, dict))
        url = page.get("nextLink")

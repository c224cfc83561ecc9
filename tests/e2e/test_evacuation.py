"""An evacuation of West Europe (`POST /api/evacuations`, issue 23) on the local engine against the simulator: the
demo estate split into two plans - `identity` (tier 0: the domain controllers) and `apps` (tier 1, after
identity: data, apps, AVD, DNS). One approval card for both; each plan a child run with its own id, status and
report; apps starts only once identity has completed; a failed tier-0 plan blocks the plan after it. Judged by
the simulator's jobs and Teams messages, not by the evacuation's own summary alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.stack import DEMO_PLAN, LocalStack
from simulator import EstateConfig
from tests.conftest import approval_link, approve_as, teams_messages, wait_for

DEMO = yaml.safe_load(DEMO_PLAN.read_text())
APPROVERS = DEMO["approval"]["approvers"]


def plan_files(tmp_path: Path, **identity_overrides: Any) -> tuple[Path, Path]:
    identity = {
        **{k: v for k, v in DEMO.items() if k not in ("avd", "standby", "dns", "dependencies", "verify", "groups")},
        "name": "identity",
        "tier": 0,
        "groups": [DEMO["groups"][0]],
        **identity_overrides,
    }
    apps = {**DEMO, "name": "apps", "tier": 1, "after": ["identity"], "groups": DEMO["groups"][1:]}
    paths = tmp_path / "identity.yaml", tmp_path / "apps.yaml"
    for path, plan in zip(paths, (identity, apps), strict=True):
        path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return paths


@pytest.fixture
def evacuation_stack(tmp_path: Path, start_stack: Any) -> Any:
    def make(estate_config: EstateConfig | None = None, **identity_overrides: Any) -> LocalStack:
        identity, apps = plan_files(tmp_path, **identity_overrides)
        return start_stack(  # type: ignore[no-any-return]
            plan_path=identity, extra_plans=[apps], vms=60, sessions=6, time_scale=600.0, estate_config=estate_config
        )

    return make


def evacuate(stack: LocalStack) -> str:
    answer = stack.http.post(f"{stack.api_url}/api/evacuations", json={"region": "West Europe"}, timeout=30)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert [(p["plan"], p["tier"], p["after"]) for p in body["plans"]] == [
        ("identity", 0, []), ("apps", 1, ["identity"]),
    ]  # fmt: skip
    return str(body["instance_id"])


def evacuation(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    return stack.http.get(f"{stack.api_url}/api/evacuations/{instance_id}", timeout=10).json()  # type: ignore[no-any-return]


def approve_all(stack: LocalStack, instance_id: str) -> None:
    """The evacuation's one card: the demo plans ask for one approval (the most any of them asks for)."""
    wait_for(lambda: (evacuation(stack, instance_id).get("approval") or {}).get("waiting"), timeout=60)
    assert evacuation(stack, instance_id)["approval"]["required"] == 1
    assert approve_as(APPROVERS[0], approval_link(stack, instance_id)).status_code == 200


def finished(stack: LocalStack, instance_id: str, timeout: float = 180) -> dict[str, Any]:
    return wait_for(  # type: ignore[no-any-return]
        lambda: (e := evacuation(stack, instance_id))["runtime_status"] == "Completed" and e, timeout=timeout
    )


def failover_jobs(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return {j["plan"]: j for j in stack.estate.snapshot()["jobs"] if j["scenario"] == "UnplannedFailover"}


def test_one_card_tier_by_tier_each_plan_its_own_run(evacuation_stack: Any) -> None:
    stack = evacuation_stack()
    instance_id = evacuate(stack)
    approve_all(stack, instance_id)
    done = finished(stack, instance_id)
    output = done["output"]
    assert output["status"] == "Completed", output["errors"]
    rows = {row["plan"]: row for row in output["plans"]}
    assert rows["identity"]["status"] == rows["apps"]["status"] == "Completed"
    # one card for the whole evacuation: the plans' runs posted none of their own
    cards = [m for m in teams_messages(stack) if "Approval needed" in json.dumps(m)]
    assert len(cards) == 1 and instance_id in json.dumps(cards[0])
    # tier 0 before tier 1, as ASR saw it: every apps/data job started after identity's commit ended
    snapshot = stack.estate.snapshot()
    identity_end = max(j["ended_at"] for j in snapshot["jobs"] if j["plan"] == "rp-identity")
    later = [j for name, j in failover_jobs(stack).items() if name != "rp-identity"]
    assert later and all(j["started_at"] >= identity_end for j in later)
    assert all(p["state"] == "Committed" for p in snapshot["recovery_plans"])
    # each plan's run has its own id, status and approvals (the evacuation's)
    child = stack.http.get(f"{stack.api_url}/api/failovers/{rows['apps']['run_id']}", timeout=10).json()
    assert child["status"] == "Completed" and child["approvals"][0]["approver"] == APPROVERS[0]
    assert child["output"]["batch_size"] <= 100  # its share of the evacuation's in-flight cap
    # CloudEvents at every step, as Event Grid (the simulator) received them
    types = [e["type"].removeprefix("Contoso.Failover.") for e in stack.estate.events if instance_id in e["source"]]
    assert types[0] == "EvacuationStarted" and types[-1] == "EvacuationCompleted"
    assert types.count("EvacuationPlanStarted") == types.count("EvacuationPlanCompleted") == 2


def test_a_failed_tier_blocks_the_plans_after_it(evacuation_stack: Any) -> None:
    config = EstateConfig(time_scale=600.0, failing_plans={"rp-identity": "The recovery VM could not be created."})
    stack = evacuation_stack(estate_config=config, operator_wait="1m")
    instance_id = evacuate(stack)
    approve_all(stack, instance_id)
    output = finished(stack, instance_id)["output"]
    rows = {row["plan"]: row for row in output["plans"]}
    assert rows["identity"]["status"] == "CompletedWithErrors" and rows["apps"]["status"] == "Blocked"
    assert output["status"] == "CompletedWithErrors"
    # nothing of the apps plan was touched: no failover job, users still signed in
    assert set(failover_jobs(stack)) == {"rp-identity"}
    assert stack.estate.sessions_remaining() == 6


def test_refused_with_the_field_named(evacuation_stack: Any) -> None:
    stack = evacuation_stack()
    api = f"{stack.api_url}/api/evacuations"
    assert stack.http.post(api, json={"region": "eastus"}, timeout=10).status_code == 404
    wrong = stack.http.post(api, json={"region": "westeurope", "exclude": ["nope"]}, timeout=10)
    assert wrong.status_code == 422 and wrong.json()["error"]["message"].startswith("exclude: ")
    assert stack.http.post(api, json={"region": "westeurope", "bogus": 1}, timeout=10).status_code == 422


def cancelled(stack: LocalStack, instance_id: str) -> None:
    answer = stack.http.post(f"{stack.api_url}/api/evacuations/{instance_id}/cancel", json={}, timeout=30)
    assert answer.status_code == 202, answer.text
    done = finished(stack, instance_id, timeout=60)
    assert done["output"]["status"] == "Cancelled", done["output"]


def test_a_second_start_joins_the_regions_evacuation(evacuation_stack: Any) -> None:
    """One evacuation of a region at a time, as one run of a plan: a second start (the engineer asks again, a
    script retries) answers with the one going, whatever it asks to exclude; once that has ended, a start starts."""
    stack = evacuation_stack()
    api = f"{stack.api_url}/api/evacuations"
    first = stack.http.post(api, json={"region": "westeurope"}, timeout=30).json()
    again = stack.http.post(api, json={"region": "West Europe", "exclude": ["apps"]}, timeout=30)
    assert again.status_code == 202 and first["deduplicated"] is False, (first, again.text)
    joined = again.json()
    assert joined["deduplicated"] is True and joined["instance_id"] == first["instance_id"]
    assert [p["plan"] for p in joined["plans"]] == ["identity", "apps"]  # its plans, not the ones asked for
    approval_link(stack, first["instance_id"])  # its card is posted
    cards = [m for m in teams_messages(stack) if "Approval needed" in json.dumps(m)]
    assert len(cards) == 1 and first["instance_id"] in json.dumps(cards[0])
    cancelled(stack, first["instance_id"])
    after = stack.http.post(api, json={"region": "westeurope"}, timeout=30).json()
    assert after["deduplicated"] is False and after["instance_id"] != first["instance_id"]


def test_an_evacuation_started_in_the_second_of_an_ended_one_draws_another_id(
    evacuation_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The id's 4 hex digits are random within a second: a draw that an instance has is drawn again. Before, the
    engine refused the start of a running one's id (500: the fuzzer met it) and replaced an ended one's history."""
    stack = evacuation_stack()
    stack.api.clock = lambda: 1_795_000_000.0
    draws = iter(["aaaa", "aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr("failover.api.evacuations.token_hex", lambda _n: next(draws))
    api = f"{stack.api_url}/api/evacuations"
    first = stack.http.post(api, json={"region": "westeurope"}, timeout=30).json()["instance_id"]
    assert first == "evacuation-westeurope-20261118T110640Z-aaaa"
    cancelled(stack, first)
    second = stack.http.post(api, json={"region": "westeurope"}, timeout=30)
    assert second.status_code == 202, second.text
    assert second.json()["instance_id"] == "evacuation-westeurope-20261118T110640Z-bbbb"
    assert evacuation(stack, first)["output"]["status"] == "Cancelled"  # the first is still readable

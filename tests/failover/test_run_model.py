"""Run ids, the RTO verdict and callback tokens: pure parts of the run model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from failover.approval import ApprovalTokenError
from failover.callbacks import CallbackClaims, callback_token, verify_callback
from failover.run import RUN_ID, new_run_id, rto_verdict

KEY = "k" * 32
AT = datetime(2026, 12, 2, 2, 15, 7, tzinfo=UTC)


def test_run_ids_are_readable_sortable_and_unique() -> None:
    run_id = new_run_id("demo", "unplanned", AT, "3f9a")
    assert run_id == "failover-demo-20261202T021507Z-3f9a"
    match = RUN_ID.match(run_id)
    assert match and match["kind"] == "failover" and match["plan"] == "demo"
    assert new_run_id("multi-part-plan", "test", AT).startswith("drill-multi-part-plan-20261202T021507Z-")
    assert RUN_ID.match(new_run_id("multi-part-plan", "failback", AT))["plan"] == "multi-part-plan"  # type: ignore[index]
    later = new_run_id("demo", "planned", AT.replace(second=8), "0000")
    assert sorted([later, run_id]) == [run_id, later]
    assert len({new_run_id("demo", "unplanned", AT) for _ in range(200)}) > 190  # random suffix


def test_rto_met_only_when_the_failover_completed() -> None:
    plans = [{"name": "a", "state": "Succeeded"}, {"name": "b", "state": "Succeeded"}]
    assert rto_verdict("Completed", {"a", "b"}, plans, 100, 200) == (True, None)
    assert rto_verdict("Completed", {"a", "b"}, plans, 300, 200)[0] is False
    met, note = rto_verdict("Cancelled", {"a", "b"}, plans[:1], 50, 200)
    assert met is False and "Cancelled" in (note or "")
    met, note = rto_verdict("CompletedWithErrors", {"a", "b"}, plans[:1], 50, 200)
    assert met is False and "1 of 2" in (note or "")
    assert rto_verdict("CompletedWithErrors", set(), [], 5, 200) == (False, "no recovery plan was failed over")
    assert rto_verdict("Completed", {"a"}, plans, 5, 0)[0] is None


def test_callback_tokens_are_bound_to_run_step_call_and_deadline() -> None:
    claims = CallbackClaims("failover-demo-20261202T021507Z-3f9a", "azlocal", "nonce-1", 2_000)
    token = callback_token(KEY, claims)
    assert verify_callback(KEY, token, claims.instance_id, "azlocal", 1_000) == claims
    for instance_id, step in (("failover-demo-20261202T031507Z-aaaa", "azlocal"), (claims.instance_id, "other")):
        with pytest.raises(ApprovalTokenError) as foreign:
            verify_callback(KEY, token, instance_id, step, 1_000)
        assert foreign.value.status == 403
    with pytest.raises(ApprovalTokenError) as expired:
        verify_callback(KEY, token, claims.instance_id, "azlocal", 2_000)
    assert expired.value.status == 410
    with pytest.raises(ApprovalTokenError):
        verify_callback("another-key" * 3, token, claims.instance_id, "azlocal", 1_000)

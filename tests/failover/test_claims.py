"""The plan's claim (`failover.claims.apply`, the `plan_claim` entity's whole logic): one holder at a time, given back
only by its holder, handed over from a run that ended without giving it back, reserved for a failover that
supersedes a drill."""

from __future__ import annotations

from typing import Any

from failover.claims import apply, empty


def run(state: dict[str, Any] | None, operation: str, **request: Any) -> tuple[dict[str, Any], Any]:
    return apply(state, operation, request)


def test_one_holder_at_a_time() -> None:
    state, first = run(None, "claim", run_id="r1", mode="unplanned")
    assert first["granted"] is True and state["holder"]["run_id"] == "r1"
    state, second = run(state, "claim", run_id="r2", mode="unplanned")
    assert second == {"granted": False, "holder": state["holder"]} and state["holder"]["run_id"] == "r1"
    state, again = run(state, "claim", run_id="r1", mode="unplanned")  # a replayed claim of the holder
    assert again["granted"] is True


def test_only_the_holder_gives_it_back() -> None:
    state, _ = run(None, "claim", run_id="r1")
    state, answer = run(state, "release", run_id="r2")
    assert answer == {"released": False} and state["holder"]["run_id"] == "r1"
    state, answer = run(state, "release", run_id="r1")
    assert answer == {"released": True} and state["holder"] is None
    assert [h.get("granted") or h.get("released") for h in state["history"]] == ["r1", "r1"]


def test_a_stale_holder_is_handed_over_only_if_it_still_holds() -> None:
    state, _ = run(None, "claim", run_id="crashed")
    state, answer = run(state, "claim", run_id="r2", stale=["someone-else"])
    assert answer["granted"] is False
    state, answer = run(state, "claim", run_id="r2", stale=["crashed"])
    assert answer["granted"] is True and state["holder"]["run_id"] == "r2"


def test_reserved_for_the_failover_that_supersedes_the_drill() -> None:
    state, _ = run(None, "claim", run_id="drill-1", mode="test")
    state, answer = run(state, "claim", run_id="fo-1", mode="unplanned", supersedes="drill-1")
    assert answer["granted"] is False and answer["next"] == "fo-1" and state["next"] == "fo-1"
    state, other = run(state, "claim", run_id="fo-2", mode="unplanned", supersedes="drill-1")
    assert other["granted"] is False and "next" not in other  # one successor only
    state, _ = run(state, "release", run_id="drill-1")  # the drill, cancelled and cleaned up, gives it back
    state, newcomer = run(state, "claim", run_id="fo-3", mode="planned")
    assert newcomer["granted"] is False and newcomer["holder"]["reserved"] is True  # nobody jumps the queue
    state, answer = run(state, "claim", run_id="fo-1", mode="unplanned", supersedes="drill-1")
    assert answer["granted"] is True and state["next"] is None and state["holder"]["run_id"] == "fo-1"


def test_a_stale_reservation_is_cleared() -> None:
    state = {**empty(), "next": "fo-gone"}
    state, answer = run(state, "claim", run_id="r9", stale=["fo-gone"])
    assert answer["granted"] is True and state["next"] is None


def test_unknown_operations_change_nothing() -> None:
    state, _ = run(None, "claim", run_id="r1")
    after, answer = run(state, "steal", run_id="r2")
    assert after == state and answer["granted"] is False and "unknown operation" in answer["error"]
    assert run(state, "get")[1] == state

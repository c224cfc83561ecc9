"""Copies of one alert (an alert storm): the first goes to the durable engine and the copies in flight with it
wait for its outcome; later copies read the run's status and attach nothing it already lists. A failed
start is never hidden: the copies that waited go to the engine themselves, one at a time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import pytest

from failover.alerts import parse_alert as _parse
from failover.api import Api
from failover.api.runs import COPY_FRESH_SECONDS
from failover.plan import load_plans
from failover.policy import decide as _decide
from failover.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ALERT = (ROOT / "examples" / "alerts" / "service-health-incident-westeurope.json").read_bytes()


class Engine:
    """A durable client whose start takes a while (so copies overlap) and may fail the first `failures` times. A
    run started takes the plan's claim at once when it is free (the `plan_claim` entity's rule), else it is
    refused and ends."""

    def __init__(self, failures: int = 0, pause: float = 0.01) -> None:
        self.pause = pause  # a read waits this long, a start twice that (0: they return without suspending)
        self.calls: list[str] = []
        self.failures = failures
        self.running: dict[str, Any] = {}
        self.holder: dict[str, Any] | None = None
        self.purged: list[str] = []

    async def read_entity_state(self, entity_id: Any) -> Any:
        self.calls.append("read_entity_state")
        return SimpleNamespace(entity_exists=self.holder is not None, entity_state={"holder": self.holder})

    async def purge_instance_history(self, instance_id: str) -> None:
        self.purged.append(instance_id)
        self.running.pop(instance_id, None)

    async def get_status(self, instance_id: str, **_: Any) -> Any:
        self.calls.append("get_status")
        if self.pause:
            await asyncio.sleep(self.pause)
        return self.running.get(instance_id)

    async def start_new(self, name: str, instance_id: str | None = None, client_input: Any = None) -> str:
        self.calls.append("start_new")
        if self.pause:
            await asyncio.sleep(2 * self.pause)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the task hub is not reachable")
        assert instance_id is not None
        trigger = client_input.triggers[0]  # a RunInput
        current = self.holder and self.running.get(self.holder["run_id"])
        granted = current is None or current.runtime_status != "Running" or instance_id in client_input.stale_claims
        if granted or (self.holder and self.holder["run_id"] in client_input.stale_claims):
            self.holder = {"run_id": instance_id, "mode": client_input.mode}
            granted = True
        self.running[instance_id] = SimpleNamespace(
            runtime_status="Running" if granted else "Completed",
            custom_status={"triggers": [trigger], "claim": {"granted": granted}},
            instance_id=instance_id,
        )
        return instance_id

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None) -> None:
        self.calls.append("raise_event")

    async def get_status_all(self) -> list[Any]:
        return list(self.running.values())


def _request(body: bytes = ALERT) -> func.HttpRequest:
    return func.HttpRequest(
        method="POST",
        url="http://127.0.0.1:7071/api/alerts",
        headers={"Content-Type": "application/json"},
        params={},
        body=body,
    )


@pytest.fixture
def api() -> Api:
    now = [1_800_000_000.0]
    settings = Settings(credential="simulator", approval_signing_key="k" * 32)
    built = Api(settings=settings, plans=load_plans(ROOT / "plans"), clock=lambda: now[0])
    built.now = now  # type: ignore[attr-defined]  # the test moves the clock
    return built


async def _storm(api: Api, engine: Engine, copies: int) -> list[func.HttpResponse]:
    return list(await asyncio.gather(*(api.post_alert(_request(), engine) for _ in range(copies))))


def test_copies_in_flight_wait_for_the_first(api: Api) -> None:
    engine = Engine()

    async def scenario() -> tuple[list[func.HttpResponse], list[func.HttpResponse]]:
        storm = await _storm(api, engine, 50)
        return storm, [await api.post_alert(_request(), engine) for _ in range(3)]

    first, second = asyncio.run(scenario())
    bodies = [json.loads(r.get_body()) for r in first + second]
    assert {r.status_code for r in first + second} == {202}
    assert len({b["instance_id"] for b in bodies}) == 1
    assert bodies[0]["instance_id"].startswith("failover-demo-")
    assert [b["deduplicated"] for b in bodies].count(False) == 1  # the copy that started the run
    # the storm: one claim read and one start for 50 copies; a later copy reads only the status of the run that
    # holds the alert (not the plan's claim), and the run already lists the alert: nothing started, nothing raised
    assert engine.calls.count("start_new") == 1
    assert engine.calls.count("read_entity_state") == 1
    assert "raise_event" not in engine.calls
    calls_after_storm = engine.calls[engine.calls.index("start_new") + 1 :]
    assert calls_after_storm.count("get_status") <= 1 + 3, calls_after_storm


def test_later_copies_read_the_run_once_together(api: Api) -> None:
    """Copies arriving together after the run took the plan share one read of its status."""
    engine = Engine()

    async def scenario() -> list[func.HttpResponse]:
        await _storm(api, engine, 5)
        engine.calls.clear()
        api.now[0] += COPY_FRESH_SECONDS  # type: ignore[attr-defined]  # past the start's own sighting of the run
        return await _storm(api, engine, 40)

    answers = asyncio.run(scenario())
    assert {json.loads(a.get_body())["deduplicated"] for a in answers} == {True}
    assert engine.calls == ["get_status"], engine.calls


def test_copies_right_after_a_sighting_of_the_run_take_it_without_a_read(api: Api) -> None:
    """The start that saw its run take the claim, or a read that saw the run active and listing the alert, answers
    the copies arriving within COPY_FRESH_SECONDS of when it was asked without a read (the storm bench's stall: every
    copy in flight waited on a status read queued behind the run's own start). Past half that age a copy is still
    answered at once and the next read runs in the background; past all of it copies wait for a read; a run seen
    ended sends them the long way."""
    engine = Engine()
    clock = api.now  # type: ignore[attr-defined]
    first = json.loads(asyncio.run(_storm(api, engine, 3))[0].get_body())["instance_id"]
    engine.calls.clear()
    answers = asyncio.run(_storm(api, engine, 10))  # the start saw the run: no read
    assert engine.calls == [] and {json.loads(a.get_body())["instance_id"] for a in answers} == {first}
    clock[0] += COPY_FRESH_SECONDS * 0.75  # past half the window: answered at once, one read in the background

    async def aging() -> list[func.HttpResponse]:
        answered = await _storm(api, engine, 10)
        assert engine.calls == ["get_status"]  # started, not awaited by the copies
        await asyncio.sleep(0.05)  # the read ends: the sighting is renewed as of when it was asked
        return answered

    assert {json.loads(a.get_body())["deduplicated"] for a in asyncio.run(aging())} == {True}
    clock[0] += COPY_FRESH_SECONDS * 0.4  # 0.4 of the window after the renewed sighting: no read
    asyncio.run(_storm(api, engine, 10))
    assert engine.calls == ["get_status"]
    clock[0] += COPY_FRESH_SECONDS  # past the window: the copies wait for one read, together
    asyncio.run(_storm(api, engine, 10))
    assert engine.calls == ["get_status", "get_status"]
    engine.running[first].runtime_status = "Completed"
    engine.holder = None
    clock[0] += COPY_FRESH_SECONDS
    answer = json.loads(asyncio.run(api.post_alert(_request(), engine)).get_body())
    assert answer["deduplicated"] is False and answer["instance_id"] != first


def test_a_copy_after_the_run_ended_starts_a_new_run(api: Api) -> None:
    engine = Engine()
    first = json.loads(asyncio.run(_storm(api, engine, 3))[0].get_body())["instance_id"]
    engine.running[first].runtime_status = "Completed"  # e.g. rejected by the approvers (it released the claim)
    engine.holder = None
    api.now[0] += COPY_FRESH_SECONDS  # type: ignore[attr-defined]  # and last seen active longer ago than that
    answer = json.loads(asyncio.run(api.post_alert(_request(), engine)).get_body())
    assert answer["deduplicated"] is False and answer["instance_id"] != first
    assert engine.calls.count("start_new") == 2
    assert engine.running[first].runtime_status == "Completed"  # the first run is still there to read


def test_a_failed_start_is_not_hidden_behind_the_copies(api: Api) -> None:
    """The first copy's start fails: it answers 5xx (Azure Monitor retries it); the copies that waited try
    themselves, and one of them starts the run."""
    engine = Engine(failures=1)

    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(*(api.post_alert(_request(), engine) for _ in range(5)), return_exceptions=True)
        )

    answers = asyncio.run(scenario())
    failed = [a for a in answers if isinstance(a, Exception)]
    assert len(failed) == 1 and "not reachable" in str(failed[0])
    ok = [a for a in answers if not isinstance(a, Exception)]
    assert len(ok) == 4 and {a.status_code for a in ok} == {202}
    assert engine.calls.count("start_new") == 2 and len(engine.running) == 1


def test_copies_are_answered_once_the_engine_holds_the_run(api: Api) -> None:
    """The copies in flight with the first do not wait for the run to take the plan's claim (an orchestrator
    episode and an entity call away): they are answered as soon as the engine has accepted the run."""

    class SlowClaim(Engine):
        async def get_status(self, instance_id: str, **kwargs: Any) -> Any:
            status = await super().get_status(instance_id, **kwargs)
            if status is not None and not self.claim_recorded.is_set():
                return SimpleNamespace(
                    **{**vars(status), "custom_status": {"triggers": status.custom_status["triggers"]}}
                )
            return status

    engine = SlowClaim()
    engine.claim_recorded = asyncio.Event()  # type: ignore[attr-defined]

    async def scenario() -> tuple[list[Any], bool]:
        first = asyncio.ensure_future(api.post_alert(_request(), engine))
        await asyncio.sleep(0)
        copies = [asyncio.ensure_future(api.post_alert(_request(), engine)) for _ in range(20)]
        answered = await asyncio.gather(*copies)
        still_waiting = not first.done()  # the first copy still waits for the claim
        engine.claim_recorded.set()  # type: ignore[attr-defined]
        return [await first, *answered], still_waiting

    answers, still_waiting = asyncio.run(scenario())
    assert still_waiting
    ids = {json.loads(a.get_body())["instance_id"] for a in answers}
    assert len(ids) == 1 and engine.calls.count("start_new") == 1
    assert all(json.loads(a.get_body())["deduplicated"] for a in answers[1:])


def test_copies_are_parsed_and_matched_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A storm's copies carry the same bytes: parsed once, matched against the plans once (both cost more than
    the rest of a copy's handling, docs/performance.md). A different body, or a changed set of plans, is worked
    out again."""
    import failover.api.runs as runs

    parsed: list[Any] = []
    decided: list[Any] = []
    monkeypatch.setattr(runs, "parse_alert", lambda payload: parsed.append(payload) or _parse(payload))
    monkeypatch.setattr(runs, "decide", lambda alert, plans: decided.append(alert) or _decide(alert, plans))
    engine = Engine()
    answers = asyncio.run(_storm(api, engine, 20))
    assert {a.status_code for a in answers} == {202}
    assert len(parsed) == 1 and len(decided) == 1
    other = json.loads(ALERT)
    other["data"]["essentials"]["alertId"] += "-another"
    asyncio.run(api.post_alert(_request(json.dumps(other).encode()), engine))
    assert len(parsed) == 2 and len(decided) == 2
    api.plans = {name: plan.model_copy() for name, plan in api.plans.items()}  # plans reloaded
    asyncio.run(api.post_alert(_request(), engine))
    assert len(parsed) == 2 and len(decided) == 3


def test_trigger_subscriptions_follow_the_plan_object() -> None:
    """Worked out once per plan object: a copy with other subscriptions is another object, with its own."""
    plan = next(iter(load_plans(ROOT / "plans").values()))
    assert plan.trigger_subscriptions is plan.trigger_subscriptions  # remembered
    other = plan.model_copy(update={"subscription_id": "99999999-9999-9999-9999-999999999999"})
    assert "99999999-9999-9999-9999-999999999999" in other.trigger_subscriptions
    assert "99999999-9999-9999-9999-999999999999" not in plan.trigger_subscriptions


def test_a_decision_sent_to_the_run_ends_the_sighting(api: Api) -> None:
    """Within the fresh window a copy is answered from the sighting, even if the run has just ended on its own; once
    the API has sent the run a decision, command or Resolved notice (which may end it) the next copy reads again."""
    engine = Engine()
    first = json.loads(asyncio.run(_storm(api, engine, 3))[0].get_body())["instance_id"]
    engine.running[first].runtime_status = "Completed"
    engine.holder = None
    stale = json.loads(asyncio.run(api.post_alert(_request(), engine)).get_body())
    assert stale["instance_id"] == first and stale["deduplicated"] is True  # the documented window
    api._forget_sightings(first)  # as the approval, control and Resolved routes do before they send
    fresh = json.loads(asyncio.run(api.post_alert(_request(), engine)).get_body())
    assert fresh["deduplicated"] is False and fresh["instance_id"] != first


@pytest.mark.parametrize("in_process", [True, False])
def test_an_engine_in_process_accepts_the_first_copy_before_the_loop_turns(api: Api, in_process: bool) -> None:
    """With a client that answers in process (the local host's: each call returns without suspending), the first
    copy reads the plan's claim and starts its run in one step of its task: the run is accepted before the loop
    takes the copies that arrived with it. Over a network (df's client) the two reads are gathered, one round trip
    less, and the loop turns before the start."""

    engine = Engine(pause=0)
    engine.answers_in_process = in_process  # type: ignore[attr-defined]

    async def scenario() -> int:
        first = asyncio.ensure_future(api.post_alert(_request(), engine))
        seen: list[int] = []
        asyncio.get_running_loop().call_soon(lambda: seen.append(engine.calls.count("start_new")))
        await first
        return seen[0]

    started_before_the_loop_turned = asyncio.run(scenario())
    assert started_before_the_loop_turned == (1 if in_process else 0)

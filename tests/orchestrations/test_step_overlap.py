"""What goes out in one episode (issue 23, region scale): an event never costs the critical path a round trip of
its own, and a failover job is read when it is expected to end from its own start. Timing-independent: the
orchestrators are stepped by hand with a recording context, every task answered as the test says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from failover.contracts.asr import RecoveryPlanJob, ResolvedGroup, ResolvedRecoveryPlan, ResolveRecoveryPlansResult
from failover.contracts.batch import BatchInput
from failover.contracts.run import EvacuationInput
from failover.plan import load_plan
from local.bench_evacuation import PlanShape, write_plans
from orchestrations.batch import batch_orchestrator
from orchestrations.evacuation import evacuation_orchestrator

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class Task:
    def __init__(self, kind: str, name: str, payload: Any = None) -> None:
        self.kind, self.name, self.payload = kind, name, payload
        self.result: Any = None

    def __repr__(self) -> str:
        return f"{self.kind}:{self.name}"

    def cancel(self) -> None:
        pass


class Context:
    """Records what an orchestrator schedules, in order; time stands still at T0 unless a test moves it."""

    def __init__(self, input_: Any, instance_id: str) -> None:
        self.input, self.instance_id = input_, instance_id
        self.current_utc_datetime = T0
        self.scheduled: list[Task] = []
        self.statuses: list[Any] = []
        self.is_replaying = False

    def get_input(self) -> Any:
        return self.input

    def _new(self, kind: str, name: str, payload: Any = None) -> Task:
        task = Task(kind, name, payload)
        self.scheduled.append(task)
        return task

    def call_activity_with_retry(self, name: str, retry: Any, payload: Any) -> Task:
        return self._new("activity", name, payload)

    def call_activity(self, name: str, payload: Any) -> Task:
        return self._new("activity", name, payload)

    def call_sub_orchestrator(self, name: str, payload: Any, instance_id: str) -> Task:
        return self._new("orchestration", instance_id, payload)

    def create_timer(self, at: datetime) -> Task:
        return self._new("timer", "timer", at)

    def wait_for_external_event(self, name: str) -> Task:
        return Task("event", name)

    def task_all(self, tasks: list[Task]) -> Task:
        return Task("all", "all", tasks)

    def task_any(self, tasks: list[Task]) -> Task:
        return Task("any", "any", tasks)

    def set_custom_status(self, status: Any) -> None:
        self.statuses.append(status)

    def new_uuid(self) -> str:
        return "00000000-0000-0000-0000-000000000000"


def names(tasks: list[Task]) -> list[str]:
    return [t.name for t in tasks]


def batch_input() -> BatchInput:
    return BatchInput(
        plan="p1",
        run_id="run-1",
        batch={"group": "g1", "index": 1, "vms": 40, "recovery_plans": [{"name": "rp-1", "vms": 40}]},
        asr={"subscription_id": "sub", "resource_group": "rg", "vault": "rsv"},
        mode="unplanned",
        poll_seconds=15.0,
        timeout_seconds=3600.0,
        expected_seconds={"rp-1": 260.0},
    )


def test_batch_started_goes_out_with_the_failover_posts() -> None:
    """BatchStarted is published beside the recovery plans' failover starts, not one round trip before them."""
    context = Context(batch_input(), "run-1:batch-1")
    steps = batch_orchestrator(context)
    next(steps)  # the first episode ends here
    assert names(context.scheduled) == ["publish_event", "asr_start_failover"]


def test_a_failover_job_is_first_read_when_expected_to_end_from_its_own_start() -> None:
    """The job started (ASR's currentScenario.startTime) 3 s before the start activity returned: its first read
    is due 260 s after the job's start, not 260 s after the activity's return."""
    context = Context(batch_input(), "run-1:batch-1")
    steps = batch_orchestrator(context)
    waited = next(steps)
    job_start = T0 - timedelta(seconds=3)
    while waited.kind != "all" or "asr_start_failover" not in names(waited.payload):
        waited = steps.send(None)  # BatchStarted published
    started = RecoveryPlanJob(recovery_plan="rp-1", job="job-1", action="started", started_at="2026-12-06T11:59:57Z")
    waited = steps.send([started])
    while waited.kind != "timer":
        waited = steps.send(None)
    assert waited.payload == job_start + timedelta(seconds=260)


def test_a_plans_end_starts_the_next_plan_in_the_same_episode(tmp_path: Path) -> None:
    """The evacuation learns a plan's run ended and starts the next plan's run before it waits for any event's
    publish (EvacuationPlanCompleted goes out beside it)."""
    shapes = [PlanShape("p0", 40, tier=0), PlanShape("p1", 40)]
    plans = [load_plan(p) for p in write_plans(tmp_path, shapes, commit=False)]
    context = Context(EvacuationInput(region="westeurope", plans=plans, in_flight_cap=100), "evac")
    resolved = ResolveRecoveryPlansResult(
        groups=[ResolvedGroup(name="g1", recovery_plans=[ResolvedRecoveryPlan(name="rp", vms=40, failed_over=False)])],
        unmatched=[],
    )
    steps = evacuation_orchestrator(context)
    waited = next(steps)
    child = None
    while True:
        if waited.kind == "all":
            waited = steps.send([resolved for _ in waited.payload])
        elif waited.kind == "any":
            child = next(t for t in waited.payload if t.kind == "orchestration")
            waited = steps.send(child)
            break
        else:
            waited = steps.send(None)
    assert child is not None and child.name == "evac:p0"
    before = len(context.scheduled)
    waited = steps.send({"status": "Completed"})  # the plan's run's summary: the first yield after its end
    assert waited.kind == "activity" and waited.name == "publish_event"
    assert names(context.scheduled[before:]) == ["publish_event", "evac:p1", "publish_event"]


class LocalEngineContext(Context):
    drops_replayed_status = True  # as local.worker.DfContext: a status set while replaying is dropped


def test_a_replayed_evacuation_does_not_rebuild_its_status(tmp_path: Path) -> None:
    """On the local engine an evacuation replaying its history builds no custom status (the engine keeps the one
    an earlier episode set); on new events it does."""
    plans = [load_plan(p) for p in write_plans(tmp_path, [PlanShape("p0", 40, tier=0), PlanShape("p1", 40)])]
    spec = EvacuationInput(region="westeurope", plans=plans, in_flight_cap=100)
    for replaying, built in ((True, False), (False, True)):
        context = LocalEngineContext(spec, "evac")
        context.is_replaying = replaying
        next(evacuation_orchestrator(context))
        assert bool(context.statuses) is built

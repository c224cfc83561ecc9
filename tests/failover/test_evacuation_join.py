"""One evacuation of a region at a time (`failover.api.evacuations`): a start while one is going joins it, and
answers with that evacuation's own plans, read from its input as either host returns it (the contract's envelope
as JSON, or that JSON as text); ended evacuations, other regions' and the plans' child runs are not joined."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import pytest

from failover import contracts
from failover.api import Api
from failover.api.http import EVACUATION_ORCHESTRATOR, ORCHESTRATOR
from failover.plan import load_plans
from failover.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RUNNING = "evacuation-westeurope-20261118T110640Z-aaaa"


class Engine:
    """The slice of a durable client `POST /api/evacuations` uses, over a fixed set of instances."""

    def __init__(self, *instances: Any) -> None:
        self.instances = {i.instance_id: i for i in instances}
        self.started: list[str] = []

    async def get_status_all(self) -> list[Any]:
        return list(self.instances.values())

    async def get_status(self, instance_id: str, show_input: bool = False, **_: Any) -> Any:
        found = self.instances.get(instance_id)
        return found if found is None or show_input else SimpleNamespace(**{**vars(found), "input_": None})

    async def start_new(self, name: str, instance_id: str | None = None, client_input: Any = None) -> str:
        assert instance_id is not None
        self.started.append(instance_id)
        return instance_id


@pytest.fixture
def api() -> Api:
    settings = Settings(credential="simulator", approval_signing_key="k" * 32)
    return Api(settings=settings, plans=load_plans(ROOT / "plans" / "evacuation"), clock=lambda: 1_795_000_000.0)


def _instance(api: Api, instance_id: str, status: str = "Running", *, name: str = EVACUATION_ORCHESTRATOR,
              plans: tuple[str, ...] = ("identity", "data"), as_text: bool = False) -> Any:  # fmt: skip
    spec = api._evacuation_input([api.plans[p] for p in plans], None, None, None, None)
    text = contracts.dumps(spec)
    return SimpleNamespace(
        name=name, instance_id=instance_id, runtime_status=status, custom_status=None,
        input_=text if as_text else json.loads(text),
    )  # fmt: skip


def _start(api: Api, engine: Engine, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = func.HttpRequest(method="POST", url="http://127.0.0.1:7071/api/evacuations", params={},
                           headers={"Content-Type": "application/json"}, body=json.dumps(body).encode())  # fmt: skip
    answer = asyncio.run(api.post_evacuation(req, engine))  # type: ignore[arg-type]
    return answer.status_code, json.loads(answer.get_body())


@pytest.mark.parametrize("as_text", [False, True], ids=["input as JSON", "input as JSON text"])
def test_a_start_joins_the_one_going_with_its_own_plans(api: Api, as_text: bool) -> None:
    engine = Engine(_instance(api, RUNNING, as_text=as_text))
    status, body = _start(api, engine, {"region": "westeurope", "exclude": ["apps", "data"]})
    assert status == 202 and body["deduplicated"] is True and body["instance_id"] == RUNNING, body
    assert [(p["plan"], p["tier"], p["after"]) for p in body["plans"]] == [("identity", 0, []), ("data", 0, [])]
    assert engine.started == []


def test_ended_other_regions_and_child_runs_are_not_joined(api: Api) -> None:
    engine = Engine(
        _instance(api, "evacuation-westeurope-20261118T110000Z-0001", "Completed"),
        _instance(api, "evacuation-westeurope2-20261118T110000Z-0002"),  # a region whose name starts alike
        _instance(api, f"{RUNNING}:identity", name=ORCHESTRATOR),
    )
    status, body = _start(api, engine, {"region": "westeurope"})
    assert status == 202 and body["deduplicated"] is False, body
    assert engine.started == [body["instance_id"]] and body["instance_id"].startswith("evacuation-westeurope-20261118T")
    assert sorted(p["plan"] for p in body["plans"]) == ["apps", "data", "identity"]


def test_without_its_input_the_answer_names_the_plans_asked_for(api: Api) -> None:
    going = _instance(api, RUNNING)
    going.input_ = None  # a host that does not return it
    status, body = _start(api, Engine(going), {"region": "westeurope", "exclude": ["apps"]})
    assert status == 202 and body["deduplicated"] is True and body["instance_id"] == RUNNING
    assert sorted(p["plan"] for p in body["plans"]) == ["data", "identity"]

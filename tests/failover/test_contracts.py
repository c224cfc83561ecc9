"""The typed contracts every activity and orchestration is registered with, and their codec."""

from __future__ import annotations

import inspect
import json
import typing

import pytest
from pydantic import ValidationError

import activities
import orchestrations
from failover import contracts
from failover.batching import Batch, RecoveryPlanRef
from failover.contracts import Contract
from failover.contracts.backup import BackupTestResult, BackupTestRunInput
from failover.contracts.batch import BatchInput, BatchResult
from failover.contracts.dns import DnsRecordResult, DnsSwitchInput
from failover.contracts.readiness import ReadinessCheck, ReadinessRunInput, ReadinessRunResult
from failover.contracts.run import EvacuationInput, RunInput
from failover.plan import load_plan
from failover.run import build_run_input
from local.stack import DEMO_PLAN


class TestActivitySignatures:
    @pytest.mark.parametrize("name", sorted(activities.ALL))
    def test_one_typed_input_one_typed_result(self, name: str) -> None:
        """Each activity takes one `Contract` model named `payload` and returns one `Contract` model (real classes:
        the Azure worker refuses a generic alias such as `dict[str, Any]`)."""
        fn = activities.ALL[name]
        params = list(inspect.signature(fn).parameters)
        assert params == ["payload"], f"{name} takes {params}"
        hints = typing.get_type_hints(fn)
        assert isinstance(hints["payload"], type) and issubclass(hints["payload"], Contract), hints["payload"]
        assert isinstance(hints["return"], type) and issubclass(hints["return"], Contract), hints["return"]


class TestCodec:
    def test_envelope_is_azure_functions_durables(self) -> None:
        """A contract is written in df's custom-object envelope and read back as the same model."""
        model = DnsSwitchInput(
            subscription_id="s", resource_group="rg", zone="contoso.com", name="app", type="CNAME", target="x"
        )
        text = contracts.dumps({"input": model})
        raw = json.loads(text)["input"]
        assert raw["__class__"] == "DnsSwitchInput" and raw["__module__"] == "failover.contracts.dns"
        assert contracts.loads(text) == {"input": model}
        assert contracts.unwrap(raw) == model.plain()

    def test_alias_round_trips(self) -> None:
        """A field named by a Python keyword (`from`) keeps its JSON name on the wire and back."""
        result = DnsRecordResult(record="app.contoso.com CNAME", from_="a", to="b", changed=True)
        assert result.plain()["from"] == "a"
        assert contracts.loads(contracts.dumps(result)) == result

    def test_missing_and_empty_fields_are_named(self) -> None:
        """An input without an id it needs, or with an empty one, is refused naming the field."""
        with pytest.raises(ValidationError, match="zone"):
            DnsSwitchInput(subscription_id="s", resource_group="rg", name="app", type="A", target="1.2.3.4")  # type: ignore[call-arg]
        with pytest.raises(ValidationError, match="resource_group"):
            DnsSwitchInput(subscription_id="s", resource_group="", zone="z", name="app", type="A", target="1.2.3.4")

    def test_unknown_field_refused(self) -> None:
        """A misspelt field is an error, not silently dropped."""
        with pytest.raises(ValidationError, match="targett"):
            DnsSwitchInput.model_validate(
                {"subscription_id": "s", "resource_group": "rg", "zone": "z", "name": "n", "type": "A", "targett": "x"}
            )

    def test_run_input_round_trips(self) -> None:
        """The failover orchestration's input (a whole plan inside) survives the codec unchanged."""
        run_input = build_run_input(load_plan(DEMO_PLAN), trigger={"title": "West Europe"}, time_scale=60)
        assert isinstance(run_input, RunInput)
        assert contracts.loads(contracts.dumps(run_input)) == run_input
        with pytest.raises(ValidationError, match="time_scale"):
            RunInput.model_validate({**run_input.plain(), "time_scale": 0})


def _orchestration_inputs() -> dict[str, Contract]:
    """An input of every orchestration, as its starter builds it."""
    plan = load_plan(DEMO_PLAN)
    batch = Batch("apps", 1, (RecoveryPlanRef("rp-apps-01", 3), RecoveryPlanRef("rp-apps-02", 2))).to_dict()
    return {
        "failover_orchestrator": build_run_input(plan, trigger={"title": "West Europe"}, time_scale=60),
        "batch_orchestrator": BatchInput(
            plan=plan.name,
            batch=batch,
            asr={**plan.vault_ref(), "recovery_point_type": "Latest", "drill_networks": {}},
            mode="planned",
            poll_seconds=0.5,
            poll_max_seconds=2,
            commit=True,
            timeout_seconds=60,
        ),
        "readiness_orchestrator": ReadinessRunInput(plan=plan, previous={"status": "pass", "checks": []}),
        "backup_test_orchestrator": BackupTestRunInput(plan=plan, test=0, time_scale=60),
        "evacuation_orchestrator": EvacuationInput(region="westeurope", plans=[plan], time_scale=60),
    }


class TestOrchestrationContracts:
    def test_every_orchestration_has_an_input_contract(self) -> None:
        assert set(_orchestration_inputs()) == set(orchestrations.ALL)

    @pytest.mark.parametrize("name", sorted(orchestrations.ALL))
    def test_input_round_trips_and_is_read_through_its_model(self, name: str) -> None:
        """The input survives df's codec as the same model, its plain JSON (a history started before the contracts,
        or a script calling the Durable API) validates to the same model, and the orchestrator reads it that way."""
        model = _orchestration_inputs()[name]
        assert contracts.loads(contracts.dumps(model)) == model
        assert type(model).model_validate(model.plain()) == model
        source = inspect.getsource(orchestrations.ALL[name])
        assert f"isinstance(spec, {type(model).__name__})" in source
        assert f"{type(model).__name__}.model_validate(spec)" in source

    def test_input_bounds(self) -> None:
        plan = load_plan(DEMO_PLAN)
        with pytest.raises(ValidationError, match="test"):
            BackupTestRunInput(plan=plan, test=-1)
        with pytest.raises(ValidationError, match="time_scale"):
            BackupTestRunInput(plan=plan, time_scale=0)
        with pytest.raises(ValidationError, match="timeout_seconds"):
            BatchInput.model_validate({**_orchestration_inputs()["batch_orchestrator"].plain(), "timeout_seconds": 0})

    def test_batch_result_is_json(self) -> None:
        result = BatchResult(
            group="apps",
            index=1,
            recovery_plans=["rp-apps-01"],
            vms=3,
            started_at="2026-01-01T00:00:00Z",
            finished_at="2026-01-01T00:10:00Z",
            status="Succeeded",
            plans=[
                {"name": "rp-apps-01", "vms": 3, "job": "j1", "action": "started", "state": "Succeeded", "errors": []}
            ],
        ).plain()
        json.dumps(result)  # an orchestration output: df 1.7 json.dumps it without the custom-object hook
        assert BatchResult.model_validate(result).plain() == result
        with pytest.raises(ValidationError, match="status"):
            BatchResult.model_validate({**result, "status": "TimedOut"})

    def test_readiness_output_keeps_published_only_when_set(self) -> None:
        base = ReadinessRunResult(
            plan="demo", status="pass", checked_at="t", checks=[ReadinessCheck(name="vault", status="pass", message="")]
        )
        assert "published" not in base.plain()
        assert ReadinessRunResult.model_validate({**base.plain(), "published": False}).plain()["published"] is False

    def test_backup_test_result_nulls_unreached_steps(self) -> None:
        result = BackupTestResult.model_validate(
            {
                "plan": "demo",
                "vm": "vm-app-0001",
                "restored_vm": "vm-app-0001-rt",
                "network_id": "/subscriptions/s/vnet",
                "status": "Failed",
                "errors": ["no recovery point"],
                "target_seconds": 14400,
                "target_met": False,
                "started_at": "t0",
                "finished_at": "t1",
            }
        ).plain()
        assert result["restore_seconds"] is None and result["deleted"] is None and result["recovery_point"] is None

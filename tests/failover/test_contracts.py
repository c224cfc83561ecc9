"""The typed contracts every activity and orchestration is registered with, and their codec."""

from __future__ import annotations

import inspect
import json
import typing

import pytest
from pydantic import ValidationError

import activities
from failover import contracts
from failover.contracts import Contract
from failover.contracts.dns import DnsRecordResult, DnsSwitchInput
from failover.contracts.run import RunInput
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

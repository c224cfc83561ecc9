"""Traffic Manager activities through the real TrafficManagerManagementClient against the simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from pydantic import ValidationError

import activities
from activities.traffic import tm_get_profile, tm_set_endpoint
from failover.contracts.traffic import TmEndpointInput, TmProfileInput
from simulator import EstateConfig, Simulator
from simulator.estate import SUBSCRIPTION_ID
from simulator.network import DEMO_TM_PROFILE, DEMO_TM_RG, NetworkConfig
from tests.activities.conftest import StartSimulator

PROFILE = {
    "instance_id": "test",
    "plan": "demo",
    "subscription_id": SUBSCRIPTION_ID,
    "resource_group": DEMO_TM_RG,
    "profile": DEMO_TM_PROFILE,
}


def endpoint(name: str, **change: Any) -> TmEndpointInput:
    return TmEndpointInput.model_validate({**PROFILE, "endpoint": name, "endpoint_type": "externalEndpoints", **change})


@pytest.fixture
def simulate(start_simulator: StartSimulator) -> Callable[..., Simulator]:
    """A simulator on a 10-VM demo estate with the given Traffic Manager / Logs knobs."""

    def make(**network: Any) -> Simulator:
        return start_simulator(EstateConfig(time_scale=10_000, network=NetworkConfig(**network)), vms=10)

    return make


def states(sim: Simulator) -> dict[str, tuple[str, int | None]]:
    profile = sim.estate.network.profile(DEMO_TM_RG, DEMO_TM_PROFILE)
    return {e.name: (e.status, e.priority) for e in profile.endpoints}


def test_registered_like_the_other_activities() -> None:
    assert activities.ALL["tm_get_profile"] is tm_get_profile
    assert activities.ALL["tm_set_endpoint"] is tm_set_endpoint


def test_get_profile(simulate: Callable[..., Simulator]) -> None:
    simulate(endpoint_health={"weu": "Degraded"})
    assert tm_get_profile(TmProfileInput.model_validate(PROFILE)).plain() == {
        "profile": "tm-contoso-app",
        "routing_method": "Priority",
        "endpoints": [
            {
                "name": "weu",
                "type": "externalEndpoints",
                "status": "Enabled",
                "priority": 1,
                "weight": 1,
                "target": "app-weu.contoso.com",
                "monitor_status": "Degraded",
            },
            {
                "name": "neu",
                "type": "externalEndpoints",
                "status": "Enabled",
                "priority": 2,
                "weight": 1,
                "target": "app-neu.contoso.com",
                "monitor_status": "Online",
            },
        ],
    }


def test_disable_the_failed_region_then_idempotent(simulate: Callable[..., Simulator]) -> None:
    sim = simulate(endpoint_health={"weu": "Degraded"})
    first = tm_set_endpoint(endpoint("weu", status="Disabled"))
    assert first.plain() == {
        "record": "tm-contoso-app/weu",
        "from": {"status": "Enabled", "priority": 1},
        "to": {"status": "Disabled", "priority": 1},
        "changed": True,
    }
    assert sim.estate.requests["tm.endpoints.update"] == 1
    second = tm_set_endpoint(endpoint("weu", endpoint_type="ExternalEndpoints", status="Disabled"))
    assert second.plain() == {
        "record": "tm-contoso-app/weu",
        "from": {"status": "Disabled", "priority": 1},
        "to": {"status": "Disabled", "priority": 1},
        "changed": False,
    }
    assert sim.estate.requests["tm.endpoints.update"] == 1  # the rerun wrote nothing
    assert states(sim) == {"weu": ("Disabled", 1), "neu": ("Enabled", 2)}


def test_swap_priorities(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    assert tm_set_endpoint(endpoint("weu", priority=3)).to.plain() == {"status": "Enabled", "priority": 3}
    assert tm_set_endpoint(endpoint("neu", priority=1)).changed is True
    assert states(sim) == {"weu": ("Enabled", 3), "neu": ("Enabled", 1)}
    again = tm_set_endpoint(endpoint("neu", status="Enabled", priority=1))
    assert again.changed is False


class TestSafetyRule:
    def test_never_disable_the_last_enabled_endpoint(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        tm_set_endpoint(endpoint("weu", status="Disabled"))
        with pytest.raises(ValueError, match="no healthy enabled endpoint left"):
            tm_set_endpoint(endpoint("neu", status="Disabled"))
        assert states(sim)["neu"] == ("Enabled", 2)

    def test_never_disable_when_only_unhealthy_peers_remain(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate(endpoint_health={"neu": "Degraded"})
        with pytest.raises(ValueError, match=r"refused to disable tm-contoso-app/weu.*neu \(Degraded\)"):
            tm_set_endpoint(endpoint("weu", status="Disabled"))
        sim.estate.network.set_endpoint_health(DEMO_TM_RG, DEMO_TM_PROFILE, "neu", "Online")
        with pytest.raises(ValueError, match="no healthy enabled endpoint left"):
            tm_set_endpoint(endpoint("weu", status="Disabled", unhealthy_targets=["APP-NEU.contoso.com"]))
        assert sim.estate.requests["tm.endpoints.update"] == 0  # refusals write nothing
        assert tm_set_endpoint(endpoint("weu", status="Disabled")).changed is True

    def test_never_enable_an_unhealthy_target(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        tm_set_endpoint(endpoint("weu", status="Disabled"))
        with pytest.raises(ValueError, match=r"refused to enable tm-contoso-app/weu: its target app-weu\.contoso\.com"):
            tm_set_endpoint(endpoint("weu", status="Enabled", unhealthy_targets=["app-weu.contoso.com"]))
        assert states(sim)["weu"] == ("Disabled", 1)
        # Disabled, its probes are off: without a listed target, enabling it is allowed.
        assert tm_set_endpoint(endpoint("weu", status="Enabled")).changed is True

    def test_never_promote_a_degraded_endpoint(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate(endpoint_health={"neu": "Stopped"})
        tm_set_endpoint(endpoint("weu", priority=3))
        with pytest.raises(ValueError, match=r"raise the priority of .* reports it Stopped"):
            tm_set_endpoint(endpoint("neu", priority=1))
        # Demoting an unhealthy endpoint is always allowed.
        assert tm_set_endpoint(endpoint("neu", priority=5)).changed is True
        assert states(sim) == {"weu": ("Enabled", 3), "neu": ("Enabled", 5)}

    def test_priorities_stay_unique(self, simulate: Callable[..., Simulator]) -> None:
        simulate()
        with pytest.raises(ValueError, match="endpoint weu already has it"):
            tm_set_endpoint(endpoint("neu", priority=1))


class TestBadInput:
    def test_unknown_profile_or_endpoint_is_a_404(self, simulate: Callable[..., Simulator]) -> None:
        simulate()
        with pytest.raises(ResourceNotFoundError):
            tm_get_profile(TmProfileInput.model_validate({**PROFILE, "profile": "tm-nope"}))
        with pytest.raises(ResourceNotFoundError):
            tm_set_endpoint(endpoint("frc", status="Disabled"))
        with pytest.raises(ResourceNotFoundError):
            tm_set_endpoint(endpoint("weu", endpoint_type="azureEndpoints", status="Disabled"))

    @pytest.mark.parametrize(
        "change",
        [
            {"status": "Off"},
            {"priority": 0},
            {"priority": True},
            {"endpoint_type": "cnameEndpoints"},
            {"unhealthy_targets": "app-weu.contoso.com"},
            {"endpoint": ""},
        ],
    )
    def test_refused_before_any_call(self, simulate: Callable[..., Simulator], change: dict[str, Any]) -> None:
        """The input contract refuses a bad value, naming the field, before the activity makes any call."""
        sim = simulate()
        with pytest.raises(ValidationError, match=next(iter(change))):
            tm_set_endpoint(endpoint("weu", **change))
        assert not any(name.startswith("tm.") for name in sim.estate.requests)

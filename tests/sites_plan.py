"""Plan sections for the simulator's demo network and identity (simulator/sites.py), shared by the tests of the
preflight, readiness and verify steps. Not in plans/demo.yaml, whose output other tests pin."""

from __future__ import annotations

from typing import Any

import yaml

PRIMARY = (
    "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups/rg-net-weu/providers/Microsoft.Network/"
    "virtualNetworks/vnet-avd-weu"
)
NETWORK_AND_IDENTITY: dict[str, Any] = yaml.safe_load(
    """
network:
  recovery_vnet: {resource_group: rg-net-neu, name: vnet-avd-neu}
  gateways:
    - {resource_group: rg-net-neu, name: vgw-neu}
  asr_network_mappings: true
  primary_networks: [PRIMARY]
identity:
  domain_controllers:
    - {name: dc-onprem-01, location: on_premises}
""".replace("PRIMARY", PRIMARY)
)

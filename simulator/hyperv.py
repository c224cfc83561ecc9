"""Azure Local / Hyper-V sites (ASR `HyperVReplicaAzure`): the names callers import, kept where they were.

The provider lives in `simulator.providers.azure_local`; an estate's is `estate.azure_local` (`of(estate)`).
"""

from __future__ import annotations

from simulator.estate import Estate
from simulator.providers import azure_local
from simulator.providers.azure_local import (
    AZURE,
    CLUSTER_KEY,
    CLUSTERS,
    DATA_SYNC_OPTIONS,
    FAILBACK,
    HYPERV,
    PLAN,
    POLICY,
    RECOVERY_POINT_TYPES,
    SITE,
    VM_CREATION_OPTIONS,
    AzureLocal,
    Cluster,
    HyperVSite,
    Placement,
)
from simulator.providers.recovery_services import RecoveryPlan

__all__ = [
    "AZURE",
    "CLUSTERS",
    "CLUSTER_KEY",
    "DATA_SYNC_OPTIONS",
    "FAILBACK",
    "HYPERV",
    "PLAN",
    "POLICY",
    "RECOVERY_POINT_TYPES",
    "SITE",
    "VM_CREATION_OPTIONS",
    "AzureLocal",
    "Cluster",
    "HyperVSite",
    "Placement",
    "of",
    "seed_site",
]


def of(estate: Estate) -> AzureLocal:
    """The Azure Local (Hyper-V) sites of an estate."""
    return estate.azure_local


def seed_site(estate: Estate, rg: str, vault: str, vms: int = 4, plan: str = PLAN) -> RecoveryPlan:
    """The vault's Hyper-V site with two Azure Local clusters of two hosts each, and a HyperVReplicaAzure
    recovery plan of `vms` VMs (`vm-azl-NNNN`) running on the first cluster."""
    return azure_local.seed_site(estate.azure_local, rg, vault, vms, plan)

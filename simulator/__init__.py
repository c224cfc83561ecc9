"""A stateful stand-in for the Azure APIs the failover service calls, served over HTTPS on loopback.

It imports nothing from the product. `Estate` keeps the simulated world, `Simulator` serves it.
"""

from simulator.estate import Estate, EstateConfig, seed_demo_estate
from simulator.server import Simulator

__all__ = ["Estate", "EstateConfig", "Simulator", "seed_demo_estate"]

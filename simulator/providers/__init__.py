"""The simulated Azure resource providers, one module each: its state, routes (`add_routes`), demo seed and
snapshot, on the ARM toolkit (`simulator.arm`). `simulator.estate.Estate` composes them."""

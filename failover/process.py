"""Process-level tuning both hosts apply once they have started."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Take what the process allocated while starting (modules, contracts, plans; on the local host every SDK's
    classes and models too, `failover.clients.import_sdks`) out of the garbage collector's walks. They live
    as long as the process, yet every full collection traversed them: a 160 ms pause in the middle of an
    alert storm, the endpoint's p99 (docs/performance.md)."""
    gc.collect()
    gc.freeze()

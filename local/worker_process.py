"""The local host's worker (orchestrators and activities) in a process of its own, at a lower CPU priority.

`failover serve` runs it so (as Azure runs the language worker apart from the Functions host): the API and the
durable backend in the host's process, the worker in this one, reaching the backend over gRPC as any durabletask
worker does. Why (docs/performance.md, storm, "Fifth stop"): in an alert storm the run the first copy starts does
its first work (the plan's claim, the preflight reads, the card) while the copies are still arriving. In the
host's process that work shared the GIL and the cores with the loop answering them, and put 100-odd copies of
2,000 over 50 ms; here it waits for a core the storm leaves free (`nice`), a few hundred milliseconds at most.

The child is told everything in one line on its stdin: the backend's address, the engine's registries (pickled:
the orchestrators, activities and entities are module-level functions, pickled by reference), and the settings
its activities read (`failover.settings.configure`). It answers `ready` on stdout once its worker is connected,
and stops when its stdin closes: when the engine stops it, or when the host's process is gone.
"""

from __future__ import annotations

import base64
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from failover.settings import Settings
from local.paths import ROOT

READY = "ready"
STOP_WAIT = 15.0  # seconds the worker has to stop (its activities in flight finish) before it is killed


@dataclass(frozen=True)
class WorkerProcessOptions:
    settings: Settings  # what the activities read (the SDK clients' endpoint, credential, CA bundle, ...)
    nice: int = 10  # added to the worker process's niceness: the host's process answers first


class WorkerProcess:
    """The worker's process, started by `LocalEngine.start_worker` and stopped by `stop_worker`. `config` is what
    `local.worker.build_worker` takes (`LocalEngine.worker_config()`)."""

    def __init__(self, config: dict[str, Any], options: WorkerProcessOptions) -> None:
        self.spec = {**config, "settings": options.settings, "nice": options.nice}
        self._child: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        child = subprocess.Popen(
            [sys.executable, "-m", "local.worker_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
        )
        assert child.stdin is not None and child.stdout is not None
        self._child = child
        child.stdin.write(base64.b64encode(pickle.dumps(self.spec)) + b"\n")
        child.stdin.flush()
        answer = child.stdout.readline().decode().strip()
        if answer != READY:
            self.stop()
            raise RuntimeError(f"the worker process did not start (exit code {child.returncode}): {answer[:200]}")
        return self

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def main() -> None:
    """The child: run the worker until stdin closes."""
    spec: dict[str, Any] = pickle.loads(base64.b64decode(sys.stdin.buffer.readline()))
    if spec["nice"] and hasattr(os, "nice"):
        os.nice(spec["nice"])
    from failover.clients import import_sdks
    from failover.logs import configure_logging
    from failover.settings import configure
    from local.worker import build_worker

    configure_logging("WARNING", json_output=False)
    configure(spec.pop("settings"))
    spec.pop("nice")
    worker = build_worker(**spec)
    worker.start()
    import_sdks()  # the SDKs at start, not in the first run's traffic
    print(READY, flush=True)
    sys.stdin.buffer.read()  # until the engine stops it, or its process is gone
    worker.stop()
    sys.stdout.flush()
    os._exit(0)  # the worker's threads are done; nothing else to wait for


if __name__ == "__main__":
    main()

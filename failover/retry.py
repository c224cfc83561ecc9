"""The retry story for Azure calls, in three layers (docs/reliability.md):

1. **azure-core's RetryPolicy** (every SDK client, `failover.clients`): retries 408/429/5xx and
   connection errors for idempotent methods, and any answer that carries `Retry-After` (ARM's 429 and
   503 do) whatever the method, honouring it; bounded by `retry_total` and `retry_backoff_max`.
2. **`ThrottleGate`** (a per-retry azure-core policy, one per process): once ARM answers 429 for a
   subscription and operation class (reads / writes / deletes), every later call of that class waits
   for its slot, paced at the rate the bucket refills (learnt from Retry-After, adjusted by the
   429s and `x-ms-ratelimit-remaining-*` headers that follow), so N workers do not all retry into an
   empty bucket: no retry storm, and the log-off rate stays at what the throttle allows.
3. **`call_arm`** (tenacity) where the SDK does not retry: a bare 429 (or, for an idempotent call, 408/502)
   without Retry-After on a POST/PATCH, and a connection that failed before the request was sent. What
   azure-core already retried (`sdk_retried`: any answer with Retry-After, the safe statuses of GET/PUT/DELETE,
   500/503/504 of POST/PATCH) is not retried again. It never repeats a
   non-idempotent call whose outcome is unknown (the answer was lost after the request was sent):
   that error goes up to the activity, whose durable retry re-reads state before acting.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

T = TypeVar("T")
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


def operation_class(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    if method == "DELETE":
        return "deletes"
    return "writes"


def retry_after_seconds(headers: Any) -> float | None:
    """Retry-After (seconds, or ARM's `retry-after-ms` / `x-ms-retry-after-ms`) from answer headers."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("Retry-After", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None  # an HTTP date: let the caller's backoff decide
    return None


@dataclass
class _Lane:
    interval: float = 0.0  # seconds between calls while paced; 0: not paced
    next_slot: float = 0.0  # monotonic time of the next free slot
    throttled: int = 0  # 429s seen
    waited: float = 0.0  # seconds callers spent waiting for a slot
    slowed_at: float = 0.0  # monotonic time of the last slow-down


class ThrottleLanes:
    """The pacing state of every (ARM endpoint + subscription, operation class) lane. Thread-safe; one per process."""

    SPEED_UP = 0.95  # a call went through with tokens banked: pace a little faster
    SLOW_DOWN = 1.25  # a call was throttled while paced: pace slower
    # Tokens banked before pacing faster; below it the pace holds. Speeding up on every call with one token
    # left (the first version) kept the lane faster than the refill: 1,189 429s for 4,000 log-off calls.
    SPEED_UP_REMAINING = 5
    RELEASE_REMAINING = 20  # this many tokens left: stop pacing

    def __init__(self, max_interval: float = 60.0) -> None:
        self.max_interval = max_interval
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._lock = threading.Lock()

    def wait_for_slot(self, key: tuple[str, str]) -> None:
        with self._lock:
            lane = self._lanes.get(key)
            if lane is None or lane.interval <= 0:
                return
            now = time.monotonic()
            slot = max(now, lane.next_slot)
            lane.next_slot = slot + lane.interval
            delay = slot - now
            lane.waited += delay
        if delay > 0:
            time.sleep(delay)

    def learn(self, key: tuple[str, str], status: int, headers: Any) -> None:
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            if status == 429:
                lane.throttled += 1
                after = retry_after_seconds(headers) or 1.0
                now = time.monotonic()
                if lane.interval <= 0:
                    lane.interval = min(self.max_interval, max(after, 0.001))
                    lane.slowed_at = now
                elif now - lane.slowed_at >= 2 * lane.interval:
                    # Calls sent before the last adjustment come back 429 together: slow down once for them
                    # (a window of 2 intervals: 5 let a lane run past the refill for longer, ~800 against ~570
                    # 429s for 4,000 throttle-bound log-off calls).
                    lane.interval = min(self.max_interval, max(after, lane.interval * self.SLOW_DOWN))
                    lane.slowed_at = now
                lane.next_slot = max(lane.next_slot, now + after)
                return
            if lane.interval <= 0:
                return
            remaining = None
            for name, value in headers.items():
                if name.lower().startswith("x-ms-ratelimit-remaining-subscription-"):
                    try:
                        remaining = int(value)
                    except ValueError:
                        remaining = None
            if remaining is None:
                return
            if remaining >= self.RELEASE_REMAINING:
                lane.interval = 0.0
            elif remaining >= self.SPEED_UP_REMAINING:
                lane.interval *= self.SPEED_UP

    def stats(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {
                f"{sub}/{kind}": {"interval": lane.interval, "throttled": lane.throttled, "waited_s": lane.waited}
                for (sub, kind), lane in self._lanes.items()
            }


_lanes = ThrottleLanes()


class ThrottleGate(HTTPPolicy):
    """Paces calls per (ARM endpoint + subscription, operation class) once ARM throttles them.

    One instance per client pipeline (a policy's `next` belongs to its pipeline); the lanes are shared."""

    def __init__(self, lanes: ThrottleLanes | None = None) -> None:
        super().__init__()
        self.lanes = lanes or _lanes

    @staticmethod
    def _key(request: PipelineRequest[Any]) -> tuple[str, str] | None:
        """(endpoint + subscription, operation class): ARM's throttling scope, per ARM endpoint."""
        url = request.http_request.url
        marker = "/subscriptions/"
        start = url.lower().find(marker)
        if start < 0:
            return None
        subscription = url[start + len(marker) :].split("/", 1)[0].split("?", 1)[0]
        return f"{url[:start]}/{subscription}".lower(), operation_class(request.http_request.method)

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        key = self._key(request)
        if key is not None:
            self.lanes.wait_for_slot(key)
        response = self.next.send(request)
        if key is not None:
            self.lanes.learn(key, response.http_response.status_code, response.http_response.headers)
        return response


def throttle_gate() -> ThrottleGate:
    """A gate for one client's pipeline, pacing with the process-wide lanes."""
    return ThrottleGate()


# azure-core's RetryPolicy (`RetryPolicy.is_retry`, `_is_method_retryable`): any error answer carrying Retry-After,
# the safe status codes for the methods on its allow list, and 500/503/504 for POST and PATCH.
SDK_RETRIED_METHODS = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}
SDK_RETRIED_POST = {500, 503, 504}


def sdk_retried(error: HttpResponseError) -> bool:
    """Did azure-core's RetryPolicy already retry this answer (up to its retry_total) before raising it? Then
    retrying it here would multiply the attempts (durable retries times call_arm times azure-core) for one call."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    if headers.get("Retry-After"):
        return True
    method = str(getattr(getattr(response, "request", None), "method", "") or "").upper()
    status = error.status_code
    return (method in SDK_RETRIED_METHODS and status in TRANSIENT_STATUS) or (
        method in ("POST", "PATCH") and status in SDK_RETRIED_POST
    )


def _retryable(idempotent: bool) -> Callable[[BaseException], bool]:
    def check(error: BaseException) -> bool:
        if isinstance(error, HttpResponseError) and error.status_code is not None:
            if sdk_retried(error):
                return False  # azure-core has retried it already, honouring Retry-After
            if error.status_code == 429:
                return True  # refused, not carried out: safe for any method
            return idempotent and error.status_code in TRANSIENT_STATUS
        if isinstance(error, ServiceRequestError):
            return True  # never sent
        if isinstance(error, ServiceResponseError):
            return idempotent  # sent, answer lost: only an idempotent call may be repeated
        return False

    return check


def call_arm(
    fn: Callable[..., T],
    *args: Any,
    idempotent: bool,
    attempts: int = 6,
    time_scale: float = 1.0,
    max_wait: float = 60.0,
    **kwargs: Any,
) -> T:
    """Call an SDK operation, retrying what the SDK left: throttling (429, any method), transient 5xx and
    lost answers (only when `idempotent`), connections that failed before sending. Waits Retry-After
    when the answer gives one, else exponential backoff with jitter (divided by `time_scale`);
    `attempts` bounds it. The last error is raised as is."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        response = getattr(error, "response", None)
        after = retry_after_seconds(getattr(response, "headers", None))
        if after is None:
            after = min(max_wait, 0.8 * 2 ** (state.attempt_number - 1)) * random.uniform(0.8, 1.2) / time_scale
        return min(after, max_wait)

    retrying = Retrying(
        retry=retry_if_exception(_retryable(idempotent)),
        stop=stop_after_attempt(attempts),
        wait=wait,
        reraise=True,
    )
    return retrying(fn, *args, **kwargs)

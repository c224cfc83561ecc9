"""Realistic trouble for the simulated Azure: ARM throttling, latency and injected faults.

- **Throttling** (`ThrottleConfig`): ARM's token buckets per subscription and operation class. A
  request takes one token from its class's bucket (reads: GET/HEAD; deletes: DELETE; writes: PUT,
  PATCH, POST); an empty bucket answers 429 `SubscriptionRequestsThrottled` with `Retry-After` (the
  time until a token is back) and every ARM answer carries `x-ms-ratelimit-remaining-subscription-
  {reads|writes|deletes}`. Buckets refill continuously at `rate` tokens per *simulated* second, so
  with `time_scale` X they refill X times faster in wall-clock time (and Retry-After shrinks with
  them). Capacities are Azure's published ones (reads 250 + 25/s, writes 200 + 10/s, deletes 200 +
  10/s).
- **Latency** (`LatencyModel`): simulated seconds a request takes before it is answered, per route
  name (longest matching prefix wins), divided by `time_scale`.
- **Faults** (`FaultConfig`): per route name prefix, probabilities of a 429 (with Retry-After), a 500,
  a 503, a connection reset and a slow answer; a reset may come *after* the request was carried out
  (the answer is lost, the change is not), which is what makes a blind retry of a non-idempotent
  call dangerous. `outages` takes a sink down completely (`teams`, `eventgrid`). Seeded, so a run
  with the same seed and the same request order meets the same faults.

Counters (`FaultState.snapshot`) list faults injected per route and kind; the estate counts requests
per route and failover calls per recovery plan.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, TypeVar

OperationClass = Literal["reads", "writes", "deletes"]
T = TypeVar("T")
FaultKind = Literal["throttle", "error500", "error503", "reset", "reset_after", "slow"]


def operation_class(method: str) -> OperationClass:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    if method == "DELETE":
        return "deletes"
    return "writes"


def _longest_prefix(by_prefix: dict[str, T], route: str) -> T | None:
    """The value of the longest route-name prefix that `route` starts with, if any."""
    matches = [prefix for prefix in by_prefix if route.startswith(prefix)]
    return by_prefix[max(matches, key=len)] if matches else None


@dataclass(frozen=True)
class Bucket:
    capacity: float  # tokens when full (requests that may burst)
    rate: float  # tokens back per simulated second


@dataclass
class ThrottleConfig:
    """ARM's subscription-level token buckets (per subscription, per operation class)."""

    enabled: bool = True
    reads: Bucket = Bucket(250, 25)
    writes: Bucket = Bucket(200, 10)
    deletes: Bucket = Bucket(200, 10)

    def bucket(self, kind: OperationClass) -> Bucket:
        bucket: Bucket = getattr(self, kind)
        return bucket


@dataclass
class RouteFaults:
    """Probabilities (0..1) of each fault on a request, drawn in this order; they should sum to <= 1."""

    throttle: float = 0.0  # 429 SubscriptionRequestsThrottled with Retry-After
    error500: float = 0.0  # 500 InternalServerError, before the request is carried out
    error503: float = 0.0  # 503 ServiceUnavailable with Retry-After, before it is carried out
    reset: float = 0.0  # connection dropped before the request is carried out
    reset_after: float = 0.0  # the request is carried out, then the connection is dropped (answer lost)
    slow: float = 0.0  # answered after `FaultConfig.slow_seconds` more (wall-clock)

    def kinds(self) -> list[tuple[FaultKind, float]]:
        return [
            ("throttle", self.throttle),
            ("error500", self.error500),
            ("error503", self.error503),
            ("reset", self.reset),
            ("reset_after", self.reset_after),
            ("slow", self.slow),
        ]

    @classmethod
    def transient(cls, rate: float) -> RouteFaults:
        """`rate` split over throttling and transient errors, as `failover demo --faults RATE` asks:
        40% throttling, 20% each 500 and 503, 10% each reset before and after."""
        if not 0 <= rate <= 1:
            raise ValueError(f"fault rate must be between 0 and 1, got {rate}")
        return cls(
            throttle=rate * 0.4,
            error500=rate * 0.2,
            error503=rate * 0.2,
            reset=rate * 0.1,
            reset_after=rate * 0.1,
        )


@dataclass
class LatencyModel:
    """Simulated seconds per request before the answer, by route-name prefix (longest prefix wins)."""

    routes: dict[str, float] = field(default_factory=dict)
    default: float = 0.0

    def seconds(self, route: str) -> float:
        seconds = _longest_prefix(self.routes, route)
        return self.default if seconds is None else seconds

    @classmethod
    def azure(cls) -> LatencyModel:
        """Round trips like ARM's in a healthy region: reads ~0.15 s, writes and deletes ~0.4 s (simulated)."""
        return cls(
            routes={
                "avd.usersessions.delete": 0.4,
                "avd.usersessions.send_message": 0.3,
                "avd.sessionhosts.update": 0.4,
                "asr.recoveryplans.": 0.5,
                "dns.recordsets.put": 0.4,
            },
            default=0.15,
        )


@dataclass
class FaultConfig:
    """Which routes misbehave and how. `arm` applies to every ARM route (paths under /subscriptions/);
    `routes` (route-name prefix -> RouteFaults) overrides it for the routes it names, data planes included."""

    arm: RouteFaults = field(default_factory=RouteFaults)
    routes: dict[str, RouteFaults] = field(default_factory=dict)
    outages: frozenset[str] = frozenset()  # "teams", "eventgrid": every request answers 503
    slow_seconds: float = 2.0  # wall-clock delay of a "slow" fault
    seed: int = 20261123

    def for_route(self, route: str, is_arm: bool) -> RouteFaults | None:
        faults = _longest_prefix(self.routes, route)
        if faults is not None:
            return faults
        return self.arm if is_arm else None


OUTAGE_ROUTES = {"teams": "teams.", "eventgrid": "eventgrid."}


@dataclass
class Decision:
    """What the fault layer does with one request."""

    status: int | None = None  # answer this instead of running the handler
    code: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # drop the connection before the handler
    reset_after: bool = False  # run the handler, then drop the connection
    delay: float = 0.0  # wall-clock seconds to wait before answering
    ratelimit: dict[str, str] = field(default_factory=dict)  # headers for every ARM answer


class FaultState:
    """Token buckets, the seeded random source and the counters. Thread-safe."""

    def __init__(
        self,
        time_scale: float,
        throttle: ThrottleConfig | None = None,
        faults: FaultConfig | None = None,
        latency: LatencyModel | None = None,
    ) -> None:
        self.time_scale = time_scale
        self.throttle = throttle or ThrottleConfig()
        self.faults = faults or FaultConfig()
        self.latency = latency or LatencyModel()
        self._random = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, OperationClass], float] = {}
        self._stamp: dict[tuple[str, OperationClass], float] = {}
        self.injected: Counter[str] = Counter()  # "route:kind" -> count
        self.throttled: Counter[str] = Counter()  # route -> 429s from the token buckets

    def _take(self, subscription: str, kind: OperationClass) -> tuple[bool, float, float]:
        """Take a token. Returns (granted, tokens left, wall-clock seconds until the next token)."""
        bucket = self.throttle.bucket(kind)
        rate = bucket.rate * self.time_scale  # tokens per wall-clock second
        key = (subscription.lower(), kind)
        now = time.monotonic()
        tokens = self._tokens.get(key, bucket.capacity)
        tokens = min(bucket.capacity, tokens + (now - self._stamp.get(key, now)) * rate)
        self._stamp[key] = now
        if tokens >= 1:
            self._tokens[key] = tokens - 1
            return True, tokens - 1, 0.0
        self._tokens[key] = tokens
        return False, tokens, (1 - tokens) / rate if rate > 0 else 60.0

    def retry_after(self, seconds: float) -> str:
        """A Retry-After value: whole seconds, as ARM sends, unless time is scaled (then 3 decimals)."""
        if self.time_scale == 1:
            return str(max(1, math.ceil(seconds)))
        return f"{max(seconds, 0.001):.3f}"

    def decide(self, route: str, method: str, subscription: str | None) -> Decision:
        decision = Decision()
        is_arm = subscription is not None
        with self._lock:
            decision.delay = self.latency.seconds(route) / self.time_scale
            for outage, prefix in OUTAGE_ROUTES.items():
                if outage in self.faults.outages and route.startswith(prefix):
                    self.injected[f"{route}:outage"] += 1
                    decision.status, decision.code = 503, "ServiceUnavailable"
                    decision.message = f"The {outage} endpoint is unavailable (simulated outage)."
                    return decision
            if is_arm and subscription and self.throttle.enabled:
                kind = operation_class(method)
                granted, left, wait = self._take(subscription, kind)
                decision.ratelimit[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(int(left))
                if not granted:
                    self.throttled[route] += 1
                    decision.status, decision.code = 429, "SubscriptionRequestsThrottled"
                    decision.message = (
                        f"Number of '{kind[:-1]}' requests for subscription '{subscription}' exceeded the limit. "
                        "Please try again after some time."
                    )
                    decision.headers["Retry-After"] = self.retry_after(wait)
                    return decision
            faults = self.faults.for_route(route, is_arm)
            if faults is None:
                return decision
            draw = self._random.random()
            for kind_name, probability in faults.kinds():
                if draw >= probability:
                    draw -= probability
                    continue
                self.injected[f"{route}:{kind_name}"] += 1
                if kind_name == "throttle":
                    decision.status, decision.code = 429, "TooManyRequests"
                    decision.message = "The request was throttled (injected fault). Retry after the given time."
                    decision.headers["Retry-After"] = self.retry_after(self._random.uniform(1, 5) / self.time_scale)
                elif kind_name == "error500":
                    decision.status, decision.code = 500, "InternalServerError"
                    decision.message = "Encountered internal server error (injected fault)."
                elif kind_name == "error503":
                    decision.status, decision.code = 503, "ServiceUnavailable"
                    decision.message = "The service is temporarily unavailable (injected fault)."
                    decision.headers["Retry-After"] = self.retry_after(self._random.uniform(1, 3) / self.time_scale)
                elif kind_name == "reset":
                    decision.reset = True
                elif kind_name == "reset_after":
                    decision.reset_after = True
                else:
                    decision.delay += self.faults.slow_seconds
                break
        return decision

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "faults_injected": sum(self.injected.values()),
                "throttled": sum(self.throttled.values()),
                "injected": dict(self.injected),
                "throttled_by_route": dict(self.throttled),
            }

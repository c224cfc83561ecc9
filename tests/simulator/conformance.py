"""Helpers of the simulator's conformance tests (`test_conformance_*.py`): Microsoft's REST examples
(`tests/reference/rest-examples/`), the JSON shape comparison, ARM URLs, and driving simulated time.

The shape rule (issue 12): every key of the example is present with the same JSON type, recursively; a
key the example does not show is a difference unless the case allows it, and a case allows only keys its
SDK model defines (the example shows a subset of the REST schema: `Allow.extra`). Where the example has
`null` any JSON type passes (the example does not tell the type); where ours is `null` and the example is
not, the case must say why (`Allow.nullable`). Lists: each of our items must match one of the example's
items, and a list the example fills must not be empty (`Allow.empty` says why when it may). Maps (a
`metadata` or `tags` object, whose keys are data) are compared as objects only (`Allow.maps`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from simulator import Simulator
from tests.conftest import REFERENCE

EXAMPLES = REFERENCE / "rest-examples"
AUTH = {"Authorization": "Bearer simulator"}
LRO_HEADERS = ("Azure-AsyncOperation", "Location", "Retry-After")


def example(path: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / path).read_text())


def example_files() -> list[str]:
    return sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.glob("*/*.json"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def rest_keys(model: type, prefix: str = "") -> set[str]:
    """The JSON member names an SDK model defines at one level: a TypeSpec-generated model's rest fields, or an
    msrest model's `_attribute_map` keys (flattened ones under `prefix`, e.g. `properties`)."""
    if hasattr(model, "_attribute_map"):
        keys = [str(entry["key"]).replace("\\.", "\0") for entry in model._attribute_map.values()]
        parts = [k.split(".") for k in keys]
        depth = len(prefix.split(".")) if prefix else 0
        return {
            p[depth].replace("\0", ".")
            for p in parts
            if len(p) > depth and ".".join(p[:depth]).replace("\0", ".") == prefix
        }
    return {f._rest_name for f in model()._attr_to_rest_field.values()}


@dataclass(frozen=True)
class Allow:
    """What a case allows beyond the example, each with its reason (shown in docs/simulator.md)."""

    extra: dict[str, tuple[type, str]] = field(default_factory=dict)  # path -> (SDK model, flattening prefix)
    named: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)  # path -> (keys, why: no model)
    nullable: dict[str, str] = field(default_factory=dict)  # path -> why ours may be null
    empty: dict[str, str] = field(default_factory=dict)  # path -> why our list may be empty
    maps: tuple[str, ...] = ()  # paths of objects whose keys are data

    def extra_keys(self, path: str) -> set[str]:
        keys = set(self.named[path][0]) if path in self.named else set()
        if path in self.extra:
            model, prefix = self.extra[path]
            keys |= rest_keys(model, prefix)
        return keys


def shape_differences(expected: Any, ours: Any, allow: Allow = Allow(), path: str = "$") -> list[str]:
    """How `ours` differs from the example's `expected` under the shape rule (empty: none)."""
    if expected is None:
        return []
    if ours is None:
        return [] if path in allow.nullable else [f"{path}: null where the example has {json_type(expected)}"]
    if json_type(expected) != json_type(ours):
        return [f"{path}: {json_type(ours)} where the example has {json_type(expected)}"]
    out: list[str] = []
    if isinstance(expected, dict):
        if path in allow.maps:
            return []
        for key, value in expected.items():
            if key not in ours:
                out.append(f"{path}.{key}: missing")
            else:
                out += shape_differences(value, ours[key], allow, f"{path}.{key}")
        allowed = allow.extra_keys(path)
        out += [f"{path}.{key}: not in the example" for key in ours if key not in expected and key not in allowed]
    elif isinstance(expected, list) and expected:
        if not ours:
            return [] if path in allow.empty else [f"{path}: empty where the example has items"]
        for item in ours:
            candidates = [shape_differences(e, item, allow, f"{path}[]") for e in expected]
            out += min(candidates, key=len)
    return list(dict.fromkeys(out))


def skeleton(url: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """An ARM URL's resource-type segments (`subscriptions`, `providers`, `microsoft.x`, `locations`, ...)
    and its query keys, without the names and ids: two URLs of the same API have the same skeleton."""
    parts = urlsplit(url)
    segments = [s.lower() for s in parts.path.split("/") if s]
    kept: list[str] = []
    index = 0
    while index < len(segments):
        kept.append(segments[index])
        if segments[index] == "providers" and index + 1 < len(segments):
            kept.append(segments[index + 1])  # the namespace, then type/name pairs again
            index += 2
        else:
            index += 2  # skip the name
    return tuple(kept), frozenset(k.lower() for k in parse_qs(parts.query))


def header(response: requests.Response, name: str) -> str | None:
    return response.headers.get(name)  # requests' headers are case-insensitive


def call(
    sim: Simulator,
    method: str,
    path_or_url: str,
    *,
    params: dict[str, str] | None = None,
    json_body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    url = path_or_url if path_or_url.startswith("https://") else sim.url + path_or_url
    return requests.request(
        method,
        url,
        params=params,
        json=json_body,
        data=data,
        headers={**AUTH, **(headers or {})},
        verify=sim.ca_bundle,
        timeout=10,
    )


def finish_operations(sim: Simulator) -> None:
    """Make every running ASR job and SQL / storage / VM operation due now (they end on the next read)."""
    sim.estate.finish_running_jobs()
    sim.estate.dependencies.finish_running()


def arm_error(response: requests.Response) -> dict[str, Any]:
    """The ARM error envelope's `error` object; fails the test unless it has a string `code` and `message`."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    return dict(error)


def iter_pages(sim: Simulator, first: requests.Response) -> Iterator[dict[str, Any]]:
    page = first.json()
    while True:
        yield from page["value"]
        if not page.get("nextLink"):
            return
        page = call(sim, "GET", page["nextLink"]).json()

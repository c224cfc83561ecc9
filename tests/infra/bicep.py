"""Reading the Bicep for the tests: pycep-parser (PyPI) turns each file into a dict; helpers walk it.

pycep writes identifiers and string literals alike as Python strings (`scope: vault` and `scope: 'vault'` both give
"vault"), wraps conditional and loop bodies as {"condition"/"loop_type": ..., "config": body}, and names nested
resources `parent__child`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

from local.stack import ROOT

INFRA = ROOT / "infra"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def _parser() -> BicepParser:
    return BicepParser()


@cache
def parse(path: Path) -> dict[str, Any]:
    return dict(_parser().parse(file_path=path))


def body(config: Any) -> dict[str, Any]:
    """A resource's or module's own properties, without its `if (...)` or `[for ...]` wrapper."""
    while isinstance(config, dict) and "config" in config and ({"condition", "loop_type"} & set(config)):
        config = config["config"]
    return config if isinstance(config, dict) else {}


def resources(path: Path, type_: str | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(symbol, type, body) of every resource in a file, `existing` ones included."""
    for symbol, resource in parse(path)["resources"].items():
        if type_ is None or resource["type"] == type_:
            yield symbol, resource["type"], body(resource["config"])


def modules(path: Path) -> dict[str, dict[str, Any]]:
    return dict(parse(path).get("modules", {}))


def ref(symbol: str, prop: str) -> dict[str, Any]:
    """How pycep writes `symbol.prop`."""
    return {"operator": {"type": "property_accessor", "operands": {"operand_1": symbol, "operand_2": prop}}}


def walk(node: Any) -> Iterator[Any]:
    """Every dict, list and scalar inside a parsed value, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def name_value_pairs(node: Any) -> dict[str, Any]:
    """Every `{name: ..., value: ...}` object inside `node` (app settings are written that way)."""
    return {
        item["name"]: item["value"]
        for item in walk(node)
        if isinstance(item, dict) and set(item) == {"name", "value"} and isinstance(item["name"], str)
    }

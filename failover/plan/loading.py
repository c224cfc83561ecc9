"""Plan files: YAML text validated into a `Plan`, with errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from failover.errors import PlanError
from failover.plan.model import Plan


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Walk the composed YAML node tree along a pydantic error location; 1-based line."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if found is None:
                break
            key, node = found
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Validate plan YAML text. Raises PlanError naming the file, line and field of each problem."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"{mark.line + 1}" if mark is not None else "?"
        raise PlanError([f"{source}:{line}: not valid YAML: {getattr(err, 'problem', err)}"]) from err
    if not isinstance(data, dict):
        raise PlanError([f"{source}:1: a plan must be a YAML mapping"])
    try:
        return Plan.model_validate(data)
    except ValidationError as err:
        lines = []
        for error in err.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(p) for p in loc) or "(plan)"
            number = _line_of(root, loc)
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{source}:{number or '?'}: {field}: {message}")
        raise PlanError(lines) from err


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PlanError([f"{path}: cannot read plan: {err.strerror}"]) from err
    return parse_plan(text, str(path))


def load_plans(directory: str | Path) -> dict[str, Plan]:
    """Every `*.yaml` / `*.yml` plan in a folder, by plan name. One bad file fails the whole load."""
    plans: dict[str, Plan] = {}
    errors: list[str] = []
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            plan = load_plan(path)
        except PlanError as err:
            errors.extend(err.errors)
            continue
        if plan.name in plans:
            errors.append(f"{path}:1: name: plan name '{plan.name}' is used by another file")
        plans[plan.name] = plan
    if errors:
        raise PlanError(errors)
    return plans

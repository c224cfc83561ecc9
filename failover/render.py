"""HTML pages from the Jinja2 templates in failover/templates/ (the run report, the approval pages).

Autoescaped: every value a template prints is HTML-escaped unless the template marks it `|safe` (the report's SVG
timeline, which escapes its own text). StrictUndefined: a name a template uses and is not given is an error, never an
empty string. Jinja2 is imported when the first page is rendered, not when the service starts (docs/performance.md,
"Start-up: imports").
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"


def show(value: Any) -> str:
    """A value as the pages show it: None or "" as a dash, booleans as yes/no, lists joined with commas."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


@functools.cache
def environment() -> jinja2.Environment:
    import jinja2

    from failover.report.data import duration

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["show"] = show
    env.filters["duration"] = duration
    return env


def render(template: str, **context: Any) -> str:
    """The page `template` (a file under failover/templates/) renders with `context`."""
    return environment().get_template(template).render(**context)

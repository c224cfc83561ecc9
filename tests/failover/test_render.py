"""The pages' templates (failover/templates/, failover.render): autoescaped, strict about missing names, shipped."""

from __future__ import annotations

import fnmatch
import tomllib

import jinja2
import pytest

from failover.render import TEMPLATES, render
from failover.report import timeline_svg
from local.stack import ROOT
from tests.worker.worker_env import deployed_files


def test_values_are_escaped() -> None:
    page = render("page.html", title="<i>t</i>", message="<script>alert('x')</script>")
    assert "<script" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;." in page


def test_a_missing_name_is_an_error() -> None:
    """StrictUndefined: a name the template uses and is not given fails the render, never prints as ''."""
    with pytest.raises(jinja2.UndefinedError, match="message"):
        render("page.html", title="Approval")


def test_the_timeline_escapes_its_own_text() -> None:
    """The report inserts the SVG as it is (|safe): its labels and titles are escaped where it is drawn."""
    entry = {"kind": "step", "label": "<script>x</script>", "status": "<b>", "start": 0.0, "end": 1.0}
    svg = timeline_svg([entry | {"duration": 1.0, "plan_start": 0.0, "plan_end": 1.0}], 1.0, 1.0)
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;x&lt;/script&gt;" in svg


def test_the_templates_are_shipped() -> None:
    """In the Functions deployment (not in .funcignore) and in the wheel (package data)."""
    templates = sorted(str(p.relative_to(ROOT)) for p in TEMPLATES.iterdir())
    assert "failover/templates/report.html" in templates
    assert set(templates) <= set(deployed_files())
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for name in templates:
        assert any(fnmatch.fnmatch(name.removeprefix("failover/"), glob) for glob in package_data["failover"]), name

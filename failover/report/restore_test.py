"""The report of an Azure Backup restore test (`backup_test_orchestrator`'s result, `BackupTestResult`): one
self-contained page (failover/templates/restore_test.html, autoescaped). `GET /api/failovers/{id}/report` and
`failover report ID` serve it for a `backup-test-{plan}-{i}` instance (with `format=json` / `--json`: the result
itself)."""

from __future__ import annotations

from typing import Any

from failover.render import render
from failover.report.data import duration
from failover.report.page import CSS


def restore_test_html(instance_id: str, result: dict[str, Any]) -> str:
    point = result.get("recovery_point") or {}
    restore = result.get("restore_seconds")
    target = float(result.get("target_seconds") or 0)
    verdict = "met" if result.get("target_met") else "NOT met"
    rows = [
        ("Plan", result.get("plan")),
        ("Protected VM", result.get("vm")),
        ("Restored as", result.get("restored_vm")),
        ("Isolated network", result.get("network_id")),
        ("Recovery point", f"{point.get('recovery_point') or '-'} ({point.get('time') or '-'})" if point else None),
        ("Restore time", None if restore is None else f"{duration(restore)} (target {duration(target)}: {verdict})"),
        ("Heartbeat seen", result.get("healthy")),
        ("Restored VM deleted", result.get("deleted")),
        ("Started", result.get("started_at")),
        ("Finished", result.get("finished_at")),
    ]
    return render("restore_test.html", instance_id=instance_id, result={"errors": [], **result}, rows=rows, css=CSS)

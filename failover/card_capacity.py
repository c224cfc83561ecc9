"""The recovery capacity part of an approval card: one line per plan (fits, SHORT by how much, not checked, with the
capacity reservations that hold VMs), or per recovery region for an evacuation (its plans summed, a fact per quota).
Pure builders over the capacity check's JSON (`failover.capacity`); a missing or malformed field renders nothing."""

from __future__ import annotations

from typing import Any

from failover.capacity import in_zone


def number(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def capacity_blocks(capacity: Any, region: str) -> list[dict[str, Any]]:
    """`Recovery capacity in northeurope: fits (policy warn)`, or SHORT with each quota short and by how much."""
    if not isinstance(capacity, dict) or not capacity:
        return []
    if isinstance(capacity.get("regions"), list):
        return _capacity_regions(capacity["regions"])
    where = str(capacity.get("region") or region)  # a failback's: the primary region
    label = f"Recovery capacity in {where}" if where == region else f"Capacity in {where} (the failback's region)"
    policy = capacity.get("policy") or "warn"
    if capacity.get("error"):
        text, color = f"{label}: not checked ({capacity['error']})", "warning"
    else:
        rows = [r for r in capacity.get("rows") or [] if isinstance(r, dict)]
        short = [r for r in rows if (number(r.get("shortfall")) or 0) > 0]
        if short:
            lines = "; ".join(
                f"{r.get('name') or r.get('quota')}: {r.get('needed')} needed, {r.get('available')} left, short by "
                f"{r.get('shortfall')}"
                for r in short[:5]
            )
            text, color = f"{label}: SHORT (policy {policy}): {lines}", "attention"
        else:
            needed = ", ".join(f"{r.get('needed')} {r.get('name') or r.get('quota')}" for r in rows[:3])
            text, color = f"{label}: fits ({needed}; policy {policy})", "good"
        text, color = _reserved(capacity, text, color)
    return [{"type": "TextBlock", "text": text, "wrap": True, "color": color}]


def _reserved(capacity: dict[str, Any], text: str, color: str) -> tuple[str, str]:
    """The capacity reservations' part of the line: how many VMs they hold, and each one too small."""
    reserved = number(capacity.get("reserved")) or 0
    if reserved:
        text += f". {reserved:g} VMs on capacity reservations"
    beyond = [
        r for r in capacity.get("reservations") or [] if isinstance(r, dict) and (number(r.get("shortfall")) or 0)
    ]
    if beyond:
        text += ". Reservation too small: " + "; ".join(
            f"{r.get('group')} {r.get('size')}{in_zone(r)}: {r.get('vms')} VMs, {r.get('free')} slots free, "
            f"{r.get('shortfall')} beyond (they need quota)"
            for r in beyond[:3]
        )
        color = "attention" if color == "attention" else "warning"
    return text, color


CAPACITY_REGIONS_SHOWN = 5


def _capacity_regions(regions: list[Any]) -> list[dict[str, Any]]:
    """An evacuation's check: per recovery region, every plan coming up there summed, a line (fits, SHORT, not
    checked) and a fact per quota: needed, available of the limit, the shortfall."""
    blocks: list[dict[str, Any]] = []
    entries = sorted((r for r in regions if isinstance(r, dict)), key=lambda r: not r.get("short"))
    for entry in entries[:CAPACITY_REGIONS_SHOWN]:
        plans = ", ".join(str(p) for p in entry.get("plans") or [])
        where = f"Recovery capacity in {entry.get('region')} ({plans} together)"
        if entry.get("error"):
            text, color = f"{where}: not checked ({entry['error']})", "warning"
        else:
            short = bool(entry.get("short"))
            text = f"{where}: {'SHORT' if short else 'fits'} (policy {entry.get('policy') or 'warn'})"
            color = "attention" if short else "good"
            text, color = _reserved(entry, text, color)
        blocks.append({"type": "TextBlock", "text": text, "wrap": True, "color": color, "weight": "Bolder"})
        facts = []
        for row in (r for r in entry.get("rows") or [] if isinstance(r, dict)):
            limit = number(row.get("limit"))
            of = f" of {int(limit)}" if limit is not None and limit >= 0 else " (limit unknown)"
            value = f"{row.get('needed')} needed, {row.get('available')} available{of}"
            if (number(row.get("shortfall")) or 0) > 0:
                value += f": short by {row.get('shortfall')}"
            facts.append({"title": str(row.get("name") or row.get("quota")), "value": value})
        if facts:
            blocks.append({"type": "FactSet", "facts": facts})
    if len(entries) > CAPACITY_REGIONS_SHOWN:
        more = f"… and {len(entries) - CAPACITY_REGIONS_SHOWN} more regions (the evacuation's status lists them)"
        blocks.append({"type": "TextBlock", "text": more, "wrap": True, "isSubtle": True})
    return blocks

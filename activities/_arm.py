"""Helpers the ARM activities share: SDK values as JSON, and long-running operations followed
by their status URL (SQL, Storage, NetApp, Backup)."""

from __future__ import annotations

from typing import Any

from azure.core.rest import HttpRequest

from failover.settings import current


def text(value: Any) -> str | None:
    """SDK enums (`SkuName.STANDARD_LRS`) as their plain JSON string."""
    return None if value is None else str(getattr(value, "value", value))


def same_location(a: str | None, b: str | None) -> bool:
    """Azure locations compare without case and spaces (`North Europe` is `northeurope`)."""
    return (a or "").replace(" ", "").lower() == (b or "").replace(" ", "").lower()


class LroHeaders:
    """A `raw_response_hook`: keeps the headers of the last response (the LRO's first answer)."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}

    def __call__(self, response: Any) -> None:
        self.headers = {k.lower(): v for k, v in response.http_response.headers.items()}

    def operation(self) -> str | None:
        return self.headers.get("azure-asyncoperation") or self.headers.get("location")


def operation_state(client: Any, url: str | None) -> tuple[str | None, str | None]:
    """(InProgress | Succeeded | Failed | None, error) of an LRO's status URL; None when it is not known
    (no URL, or Azure no longer has the operation)."""
    if not url:
        return None, None
    endpoint = current().arm_endpoint.rstrip("/")
    if not url.startswith(endpoint + "/"):
        # Only the configured ARM endpoint gets our bearer token.
        raise ValueError("activity input operation must be a URL on the configured ARM endpoint")
    response = client.send_request(HttpRequest("GET", url))
    if response.status_code == 404:
        return None, None
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if response.status_code >= 400:
        error = body.get("error") or {}
        return "Failed", f"{error.get('code', response.status_code)}: {error.get('message', 'operation failed')}"
    if response.status_code == 202:
        return "InProgress", None
    status = body.get("status")
    if isinstance(status, str):  # an Azure-AsyncOperation status body
        if status.lower() in ("failed", "canceled", "cancelled"):
            error = body.get("error") or {}
            return "Failed", f"{error.get('code', status)}: {error.get('message', 'operation ' + status.lower())}"
        return ("Succeeded" if status.lower() == "succeeded" else "InProgress"), None
    return "Succeeded", None  # a Location URL answered 200

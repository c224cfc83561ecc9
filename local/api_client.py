"""The command line's client of the HTTP API (`failover start|status|list|...`): one call, its JSON answer or the
API's error envelope as an `ApiError`; `--api URL`, `--api-key KEY` (or FAILOVER_API_URL, FAILOVER_API_KEY), and
`--as USER` (the signed-in identity header, trusted only on loopback or behind App Service Authentication)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import requests


class ApiError(Exception):
    """The API refused a request: its error envelope."""


def call(args: argparse.Namespace, method: str, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
    base = (args.api or os.environ.get("FAILOVER_API_URL") or "http://127.0.0.1:7071").rstrip("/")
    key = args.api_key or os.environ.get("FAILOVER_API_KEY") or ""
    headers = {"x-functions-key": key} if key else {}
    if getattr(args, "as_user", None):
        headers["X-MS-CLIENT-PRINCIPAL-NAME"] = args.as_user
    try:
        answer = requests.request(
            method,
            f"{base}/api/{path}",
            json=body,
            params={k: v for k, v in params.items() if v is not None},
            headers=headers,
            timeout=30,
        )
    except requests.ConnectionError as err:
        raise ApiError(f"cannot reach the API at {base} (is `failover serve` running?): {err}") from None
    try:
        data = answer.json()
    except ValueError:
        raise ApiError(f"HTTP {answer.status_code} from {base}: {answer.text[:200]}") from None
    if answer.status_code >= 400:
        error = (data or {}).get("error") or {}
        raise ApiError(f"HTTP {answer.status_code} {error.get('code', '')}: {error.get('message', answer.text)}")
    return dict(data)


def show(data: dict[str, Any]) -> int:
    print(json.dumps(data, indent=2))
    return 0

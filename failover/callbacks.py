"""Completion callbacks of custom actions (e.g. an Azure Automation runbook on a hybrid worker that
drives Hyper-V Replica on Azure Local): `POST /api/failovers/{id}/callbacks/{step}?token=...`.

The token is HMAC-SHA256 (the approval signing key) over the instance id and the step name, so only
the caller that received the URL can complete that step of that run. Constant-time compare.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote


def callback_token(key: str, instance_id: str, step: str) -> str:
    if not key:
        raise ValueError("the signing key is not configured (FAILOVER_APPROVAL_SIGNING_KEY)")
    digest = hmac.new(key.encode(), f"callback\n{instance_id}\n{step}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_callback(key: str, token: str, instance_id: str, step: str) -> bool:
    if not key or not token:
        return False
    return hmac.compare_digest(callback_token(key, instance_id, step).encode(), token.encode())


def callback_url(base_url: str, key: str, instance_id: str, step: str) -> str:
    token = callback_token(key, instance_id, step)
    return f"{base_url}/api/failovers/{quote(instance_id)}/callbacks/{quote(step)}?token={token}"

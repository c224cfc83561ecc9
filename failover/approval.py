"""Approval links: HMAC-SHA256 tokens over (instance id, decision, expiry, nonce, and for an "approve without"
link the recovery plans it excludes), and the timeout policy.

A token is `base64url(claims JSON) "." base64url(signature)`. Verification is constant-time; a
forged token is refused with 403, an expired one with 410. Single use is enforced by the run: the
nonce of every decision is recorded in its status and a reused nonce is refused with 409.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from failover.errors import ServiceError

Decision = Literal["approve", "reject"]
DECISIONS: tuple[Decision, ...] = ("approve", "reject")


class ApprovalTokenError(ServiceError):
    """403 for a forged or foreign token, 410 for an expired one."""


@dataclass(frozen=True)
class TokenClaims:
    instance_id: str
    decision: Decision
    expires_at: int  # epoch seconds
    nonce: str
    # an "approve without" link: the recovery plans approving it leaves out of the run (signed: not editable)
    exclude: tuple[str, ...] = ()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_claims(key: str, claims: dict[str, Any]) -> str:
    """`base64url(compact JSON) "." base64url(HMAC-SHA256)`: the form of approval and callback tokens."""
    if not key:
        raise ValueError("the signing key is not configured (FAILOVER_APPROVAL_SIGNING_KEY)")
    body = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(signature)}"


def verify_claims(key: str, token: str) -> dict[str, Any] | None:
    """The claims of a token signed with `key` (constant-time compare), or None if it is forged or malformed."""
    if not key or not isinstance(token, str) or token.count(".") != 1:
        return None
    body_part, signature_part = token.split(".")
    try:
        body = _unb64(body_part)
        signature = _unb64(signature_part)
    except (ValueError, TypeError):
        return None
    expected = hmac.new(key.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        claims = json.loads(body)
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def sign(key: str, claims: TokenClaims) -> str:
    body: dict[str, Any] = {"i": claims.instance_id, "d": claims.decision, "e": claims.expires_at, "n": claims.nonce}
    if claims.exclude:
        body["x"] = sorted(claims.exclude)
    return sign_claims(key, body)


def verify(key: str, token: str, instance_id: str, now_epoch: float) -> TokenClaims:
    """Check signature, run and expiry. 403 for anything forged or foreign, 410 when expired."""
    forged = ApprovalTokenError(403, "InvalidToken", "the approval token is not valid for this run")
    raw = verify_claims(key, token)
    if raw is None:
        raise forged
    try:
        exclude = raw.get("x") or []
        if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
            raise TypeError("exclude")
        claims = TokenClaims(str(raw["i"]), raw["d"], int(raw["e"]), str(raw["n"]), tuple(exclude))
    except (ValueError, KeyError, TypeError):
        raise forged from None
    if claims.instance_id != instance_id or claims.decision not in DECISIONS:
        raise forged
    if claims.exclude and claims.decision != "approve":
        raise forged
    if now_epoch >= claims.expires_at:
        raise ApprovalTokenError(410, "TokenExpired", "the approval link has expired")
    return claims


def timeout_outcome(on_timeout: str) -> Decision:
    """What an unanswered approval gate decides: the plan's `approval.on_timeout` policy."""
    return "approve" if on_timeout == "proceed" else "reject"

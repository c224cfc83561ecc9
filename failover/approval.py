"""Approval links: signed tokens over (instance id, decision, expiry, nonce, and for an "approve without" link the
recovery plans it excludes), and the timeout policy.

Tokens are itsdangerous `URLSafeSerializer` tokens: the claims as compact JSON, URL-safe base64, and an HMAC-SHA256
signature (compared in constant time) under a key derived from the signing key and a salt of their own, one salt for
approval links and another for callback URLs (`failover.callbacks`), so neither kind verifies as the other. Signing
uses the current key (FAILOVER_APPROVAL_SIGNING_KEY); verifying accepts it and the previous keys
(FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS), so rotating the key leaves the open links valid. A forged token is refused
with 403, an expired one with 410. Single use is enforced by the run: the nonce of every decision is recorded in its
status and a reused nonce is refused with 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadData, URLSafeSerializer

from failover.errors import ServiceError

Decision = Literal["approve", "reject"]
DECISIONS: tuple[Decision, ...] = ("approve", "reject")
APPROVAL_SALT = "failover.approval"  # the namespace of approval-link tokens; callbacks have their own

#: One key, or the keys a token may be signed with, oldest to newest (`Settings.approval_verification_keys()`).
Keys = str | Sequence[str]


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


def _serializer(keys: list[str], salt: str) -> URLSafeSerializer:
    """itsdangerous signs with the last (newest) key and verifies with any, newest first."""
    return URLSafeSerializer(keys, salt=salt, signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256})


def sign_claims(key: str, claims: dict[str, Any], salt: str) -> str:
    """A URL-safe token of `claims` signed with `key` in the namespace `salt`: approval and callback tokens."""
    if not key:
        raise ValueError("the signing key is not configured (FAILOVER_APPROVAL_SIGNING_KEY)")
    return str(_serializer([key], salt).dumps(claims))


def verify_claims(keys: Keys, token: str, salt: str) -> dict[str, Any] | None:
    """The claims of a token signed in the namespace `salt` with one of `keys`, or None if it is forged or malformed."""
    listed = [key for key in ([keys] if isinstance(keys, str) else keys) if key]
    if not listed or not isinstance(token, str) or not token:
        return None
    try:
        claims = _serializer(listed, salt).loads(token)
    except (BadData, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def sign(key: str, claims: TokenClaims) -> str:
    body: dict[str, Any] = {"i": claims.instance_id, "d": claims.decision, "e": claims.expires_at, "n": claims.nonce}
    if claims.exclude:
        body["x"] = sorted(claims.exclude)
    return sign_claims(key, body, APPROVAL_SALT)


def verify(keys: Keys, token: str, instance_id: str, now_epoch: float) -> TokenClaims:
    """Check signature (with any of `keys`), run and expiry. 403 for anything forged or foreign, 410 when expired."""
    forged = ApprovalTokenError(403, "InvalidToken", "the approval token is not valid for this run")
    raw = verify_claims(keys, token, APPROVAL_SALT)
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

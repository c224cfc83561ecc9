"""Completion callbacks of custom actions (e.g. an Azure Automation runbook on a hybrid worker that
drives Hyper-V Replica on Azure Local): `POST /api/failovers/{id}/callbacks/{step}?token=...`.

The token is signed like an approval link (`failover.approval`: HMAC-SHA256 with the approval signing key, any of the
previous keys accepted, in a namespace of its own: a callback token is no approval token, nor the other way round)
over the run id, the step, a nonce the run drew for this call of the step, and the step's deadline. So a URL completes
one step of one run, once, until its deadline: a forged or foreign token is refused 403, an expired one 410, and
the run accepts only the nonce it is waiting for (a second use is refused 409 by the handler, which reads the
run's waiting steps, and ignored by the run if it arrives some other way).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from failover.approval import ApprovalTokenError, Keys, sign_claims, verify_claims

CALLBACK_SALT = "failover.callback"  # the namespace of callback tokens (approval links have their own)


@dataclass(frozen=True)
class CallbackClaims:
    instance_id: str
    step: str
    nonce: str
    expires_at: int  # epoch seconds


def callback_token(key: str, claims: CallbackClaims) -> str:
    return sign_claims(
        key,
        {"k": "callback", "i": claims.instance_id, "s": claims.step, "n": claims.nonce, "e": claims.expires_at},
        CALLBACK_SALT,
    )


def verify_callback(keys: Keys, token: str, instance_id: str, step: str, now_epoch: float) -> CallbackClaims:
    """The token's claims, if it was signed (with any of `keys`) for this run and step and has not expired (403 / 410
    otherwise)."""
    forged = ApprovalTokenError(403, "InvalidToken", "the callback token is not valid for this run and step")
    raw = verify_claims(keys, token, CALLBACK_SALT)
    if raw is None or raw.get("k") != "callback":
        raise forged
    try:
        claims = CallbackClaims(str(raw["i"]), str(raw["s"]), str(raw["n"]), int(raw["e"]))
    except (KeyError, TypeError, ValueError):
        raise forged from None
    if claims.instance_id != instance_id or claims.step != step:
        raise forged
    if now_epoch >= claims.expires_at:
        raise ApprovalTokenError(410, "TokenExpired", "the callback URL has expired (the step's deadline passed)")
    return claims


def callback_url(base_url: str, key: str, claims: CallbackClaims) -> str:
    token = callback_token(key, claims)
    return f"{base_url}/api/failovers/{quote(claims.instance_id)}/callbacks/{quote(claims.step)}?token={token}"

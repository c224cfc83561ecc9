"""Approval tokens: signed, bound to the run, expiring; forged → 403, expired → 410. Key rotation: the previous keys
still verify, a removed one does not. Approval and callback tokens are signed in namespaces of their own."""

from __future__ import annotations

import json

import pytest
from itsdangerous import URLSafeSerializer

from failover.approval import (
    APPROVAL_SALT,
    ApprovalTokenError,
    TokenClaims,
    sign,
    sign_claims,
    timeout_outcome,
    verify,
)
from failover.callbacks import CALLBACK_SALT, CallbackClaims, callback_token, verify_callback
from failover.settings import Settings

KEY = "k" * 32
CLAIMS = TokenClaims("failover-demo", "approve", 2_000, "nonce-1")
WITHOUT = TokenClaims("failover-demo", "approve", 2_000, "nonce-1", ("rp-data-01", "rp-identity"))


def status_of(keys: str | tuple[str, ...], token: str, now: float = 1_000) -> int:
    try:
        verify(keys, token, "failover-demo", now)
    except ApprovalTokenError as err:
        return err.status
    return 200


class TestTokens:
    def test_round_trip(self) -> None:
        assert verify(KEY, sign(KEY, CLAIMS), "failover-demo", 1_000) == CLAIMS

    def test_the_exclude_claim_survives(self) -> None:
        """An "approve without" link carries the plans it leaves out, signed (sorted)."""
        claims = verify(KEY, sign(KEY, WITHOUT), "failover-demo", 1_000)
        assert claims.exclude == ("rp-data-01", "rp-identity")

    def test_exclude_only_with_an_approval(self) -> None:
        body = {"i": "failover-demo", "d": "reject", "e": 2_000, "n": "nonce-1", "x": ["rp-identity"]}
        assert status_of(KEY, sign_claims(KEY, body, APPROVAL_SALT)) == 403

    @pytest.mark.parametrize(
        "token",
        [
            sign("other-key" * 4, CLAIMS),  # signed with another key
            sign(KEY, CLAIMS)[:-2] + "AA",  # tampered signature
            "garbage",
            "",
            "a.b.c",
        ],
    )
    def test_forged_is_403(self, token: str) -> None:
        with pytest.raises(ApprovalTokenError) as err:
            verify(KEY, token, "failover-demo", 1_000)
        assert err.value.status == 403

    def test_tampered_claims_are_403(self) -> None:
        """The signature of one token over the claims of another: a later expiry, a dropped or added exclusion."""
        payload = URLSafeSerializer(KEY)  # only its payload encoding: the claims as the token carries them
        for claims, changed in [
            (CLAIMS, {"e": 4_000_000_000}),
            (WITHOUT, {"x": []}),
            (CLAIMS, {"x": ["rp-data-01"]}),
            (CLAIMS, {"d": "reject"}),
        ]:
            token = sign(KEY, claims)
            body, signature = token.rsplit(".", 1)
            raw = payload.load_payload(body.encode())
            forged_body = payload.dump_payload({**raw, **changed}).decode()
            assert forged_body != body
            assert status_of(KEY, f"{forged_body}.{signature}") == 403, changed

    def test_other_run_is_403(self) -> None:
        with pytest.raises(ApprovalTokenError) as err:
            verify(KEY, sign(KEY, CLAIMS), "failover-other", 1_000)
        assert err.value.status == 403

    def test_expired_is_410(self) -> None:
        with pytest.raises(ApprovalTokenError) as err:
            verify(KEY, sign(KEY, CLAIMS), "failover-demo", 2_000)
        assert err.value.status == 410

    def test_no_key_refuses_to_sign(self) -> None:
        with pytest.raises(ValueError, match="signing key"):
            sign("", CLAIMS)

    def test_no_key_verifies_nothing(self) -> None:
        assert status_of("", sign(KEY, CLAIMS)) == 403
        assert status_of((), sign(KEY, CLAIMS)) == 403


class TestRotation:
    """FAILOVER_APPROVAL_SIGNING_KEY signs; FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS (a JSON list) still verifies."""

    OLD, NEW, OLDEST = "old-key-" + "o" * 24, "new-key-" + "n" * 24, "oldest-" + "x" * 24

    def rotated(self, previous: list[str]) -> Settings:
        return Settings.from_env(
            {"FAILOVER_APPROVAL_SIGNING_KEY": self.NEW, "FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS": json.dumps(previous)}
        )

    def test_a_link_signed_before_the_rotation_still_verifies(self) -> None:
        link = sign(self.OLD, WITHOUT)
        keys = self.rotated([self.OLDEST, self.OLD]).approval_verification_keys()
        assert keys == (self.OLDEST, self.OLD, self.NEW)  # oldest to newest
        assert verify(keys, link, "failover-demo", 1_000) == WITHOUT
        assert verify(keys, sign(self.NEW, CLAIMS), "failover-demo", 1_000) == CLAIMS
        assert status_of(keys, link, now=2_000) == 410  # expiry still holds for an old key's link

    def test_a_removed_key_is_403(self) -> None:
        keys = self.rotated([self.OLDEST]).approval_verification_keys()
        assert status_of(keys, sign(self.OLD, CLAIMS)) == 403
        assert status_of(self.rotated([]).approval_verification_keys(), sign(self.OLDEST, CLAIMS)) == 403

    def test_callbacks_rotate_too(self) -> None:
        claims = CallbackClaims("failover-demo", "hyperv", "n", 2_000)
        keys = self.rotated([self.OLD]).approval_verification_keys()
        assert verify_callback(keys, callback_token(self.OLD, claims), "failover-demo", "hyperv", 1_000) == claims
        with pytest.raises(ApprovalTokenError) as err:
            verify_callback(self.rotated([]).approval_verification_keys(), callback_token(self.OLD, claims),
                            "failover-demo", "hyperv", 1_000)  # fmt: skip
        assert err.value.status == 403

    def test_the_previous_keys_never_sign(self) -> None:
        """A token is signed with the current key only: without it there is nothing to sign with."""
        settings = Settings(approval_signing_keys_previous=(self.OLD,))
        assert settings.approval_verification_keys() == (self.OLD,)
        with pytest.raises(ValueError, match="signing key"):
            sign(settings.approval_signing_key, CLAIMS)


class TestNamespaces:
    """A callback token is no approval token and an approval token no callback token, even carrying the other's
    claims: each kind is signed with a key derived for its own namespace (salt)."""

    BOTH = {"i": "failover-demo", "d": "approve", "e": 2_000, "n": "nonce-1", "k": "callback", "s": "hyperv"}

    def test_a_callback_token_is_no_approval_token(self) -> None:
        as_callback = sign_claims(KEY, self.BOTH, CALLBACK_SALT)
        assert verify_callback(KEY, as_callback, "failover-demo", "hyperv", 1_000).step == "hyperv"
        assert status_of(KEY, as_callback) == 403
        claims = CallbackClaims("failover-demo", "hyperv", "nonce-1", 2_000)
        assert status_of(KEY, callback_token(KEY, claims)) == 403

    def test_an_approval_token_is_no_callback_token(self) -> None:
        as_approval = sign_claims(KEY, self.BOTH, APPROVAL_SALT)
        assert verify(KEY, as_approval, "failover-demo", 1_000).nonce == "nonce-1"
        for token in (as_approval, sign(KEY, CLAIMS)):
            with pytest.raises(ApprovalTokenError) as err:
                verify_callback(KEY, token, "failover-demo", "hyperv", 1_000)
            assert err.value.status == 403


def test_timeout_policy() -> None:
    assert timeout_outcome("abort") == "reject" and timeout_outcome("proceed") == "approve"

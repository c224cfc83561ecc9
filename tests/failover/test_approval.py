"""Approval tokens: signed, bound to the run, expiring; forged → 403, expired → 410."""

from __future__ import annotations

import pytest

from failover.approval import ApprovalTokenError, TokenClaims, sign, timeout_outcome, verify

KEY = "k" * 32
CLAIMS = TokenClaims("failover-demo", "approve", 2_000, "nonce-1")


class TestTokens:
    def test_round_trip(self) -> None:
        assert verify(KEY, sign(KEY, CLAIMS), "failover-demo", 1_000) == CLAIMS

    @pytest.mark.parametrize(
        "token",
        [
            sign("other-key" * 4, CLAIMS),  # signed with another key
            sign(KEY, CLAIMS)[:-2] + "AA",  # tampered signature
            "garbage",
            "",
        ],
    )
    def test_forged_is_403(self, token: str) -> None:
        with pytest.raises(ApprovalTokenError) as err:
            verify(KEY, token, "failover-demo", 1_000)
        assert err.value.status == 403

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


def test_timeout_policy() -> None:
    assert timeout_outcome("abort") == "reject" and timeout_outcome("proceed") == "approve"

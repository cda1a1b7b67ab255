"""Verified tokens are kept exactly as long as checking them again would pass."""

from stride.platform.verified_tokens import VerifiedTokens


def test_a_token_is_kept_until_it_expires_as_the_check_judges_it() -> None:
    now = [1_000.0]
    tokens: VerifiedTokens[str] = VerifiedTokens(30, clock=lambda: now[0])
    tokens.put("token", "user-1", expires=1_060)
    assert tokens.get("token") == "user-1"
    now[0] = 1_089.9  # Past `exp`, within the leeway: still accepted, as pyjwt would.
    assert tokens.get("token") == "user-1"
    now[0] = 1_090.0  # pyjwt: `exp <= now - leeway` has expired.
    assert tokens.get("token") is None
    now[0] = 1_000.0
    assert tokens.get("token") is None  # Forgotten, not merely hidden.


def test_a_full_store_starts_again_empty() -> None:
    tokens: VerifiedTokens[str] = VerifiedTokens(30, capacity=2, clock=lambda: 0.0)
    for token in ("a", "b", "c"):
        tokens.put(token, token.upper(), expires=60)
    assert tokens.get("a") is None
    assert tokens.get("b") is None
    assert tokens.get("c") == "C"

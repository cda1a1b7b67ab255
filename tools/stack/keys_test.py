from pathlib import Path

import pytest

from stack.keys import load_or_create_key, mint_access_token, write_jwks
from stride.platform.auth import JwksSource, JwtVerifier
from stride.platform.errors import Unauthenticated


def test_the_key_survives_restarts(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "keys" / "signing.pem")
    again = load_or_create_key(tmp_path / "keys" / "signing.pem")
    assert (tmp_path / "keys" / "signing.pem").stat().st_mode & 0o777 == 0o600
    assert mint_access_token(key, "u", []) != ""
    assert again.public_key() == key.public_key()


async def test_services_accept_stack_tokens_through_the_published_jwks(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "signing.pem")
    write_jwks(key, tmp_path / "jwks.json")
    verifier = JwtVerifier(
        JwksSource(path=tmp_path / "jwks.json"),
        issuer="https://identity.stride.local",
        audience="stride",
    )
    principal = await verifier.verify(mint_access_token(key, "user-1", ["member"]))
    assert principal.user_id == "user-1"
    assert principal.roles == frozenset({"member"})


async def test_tokens_from_another_key_are_rejected(tmp_path: Path) -> None:
    write_jwks(load_or_create_key(tmp_path / "ours.pem"), tmp_path / "jwks.json")
    stranger = load_or_create_key(tmp_path / "theirs.pem")
    verifier = JwtVerifier(
        JwksSource(path=tmp_path / "jwks.json"),
        issuer="https://identity.stride.local",
        audience="stride",
    )
    with pytest.raises(Unauthenticated):
        await verifier.verify(mint_access_token(stranger, "user-1", ["admin"]))

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stride.identity.domain.sessions import (
    SESSION_TTL,
    RefreshToken,
    RefreshTokenReused,
    check_refresh,
    new_session,
)
from stride.platform.errors import Unauthenticated

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_fresh_token_renews_an_active_session() -> None:
    session = new_session(uuid.uuid4(), None, "app", NOW)
    token = RefreshToken(b"h", session.id, NOW)
    assert check_refresh(token, session, NOW + timedelta(days=1)) == session


def test_a_used_token_is_reuse_even_on_a_live_session() -> None:
    session = new_session(uuid.uuid4(), None, "app", NOW)
    with pytest.raises(RefreshTokenReused):
        check_refresh(RefreshToken(b"h", session.id, NOW, used_at=NOW), session, NOW)


def test_sessions_end_absolutely_and_on_revocation() -> None:
    session = new_session(uuid.uuid4(), None, "app", NOW)
    token = RefreshToken(b"h", session.id, NOW)
    with pytest.raises(Unauthenticated, match="SESSION_ENDED"):
        check_refresh(token, session, NOW + SESSION_TTL)
    revoked = session.revoke(NOW, "sign_out")
    assert revoked.revoke(NOW + timedelta(hours=1), "revoked") == revoked  # First reason stays.
    with pytest.raises(Unauthenticated, match="SESSION_ENDED"):
        check_refresh(token, revoked, NOW)
    with pytest.raises(Unauthenticated, match="REFRESH_TOKEN_INVALID"):
        check_refresh(None, None, NOW)

"""Loads and stores emails to send, their bodies sealed at rest: a body can carry a
credential (a password-reset or verification link), so the database never holds it in the
clear."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from stride.notifications.adapters import outgoing
from stride.notifications.adapters.tables import EmailRecord
from stride.notifications.domain.notifications import DeliveryState, Email
from stride.platform.crypto.sealing import DataKeyring, Sealed


class EmailRepository:
    def __init__(self, session: AsyncSession, data_keys: DataKeyring) -> None:
        self._db = session
        self._data_keys = data_keys

    async def add(self, email: Email, now: datetime) -> bool:
        """Stores a new email; False if it exists (the same event seen again)."""
        added = await self._db.execute(
            insert(EmailRecord)
            .values(**email_row(self._data_keys, email, now))
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(col(EmailRecord.id))
        )
        return added.first() is not None

    async def claim_due(self, now: datetime, limit: int) -> list[Email]:
        """Up to `limit` emails due by `now`, marked SENDING: the caller commits, then sends."""
        claimed = await outgoing.claim_due(self._db, EmailRecord, now, limit)
        return [replace(self._to_email(record), state=DeliveryState.SENDING) for record in claimed]

    async def save(self, email: Email, now: datetime) -> None:
        await outgoing.save(self._db, EmailRecord, email, now)

    def _to_email(self, record: EmailRecord) -> Email:
        sealed = Sealed(record.data_key_id, record.body_sealed)
        body = json.loads(self._data_keys.open(sealed, _context(record.id)))
        return Email(
            record.id,
            record.user_id,
            record.to_address,
            record.language,
            record.subject,
            body["text"],
            body["html"],
            DeliveryState(record.state),
            record.attempts,
            record.next_attempt,
            record.unsubscribe_url,
        )


def email_row(data_keys: DataKeyring, email: Email, now: datetime) -> dict[str, Any]:
    """The email as a row of `emails`, its body sealed to that row."""
    body = json.dumps({"text": email.text, "html": email.html}, ensure_ascii=False)
    sealed = data_keys.seal(body.encode(), _context(email.id))
    return {
        "id": email.id,
        "user_id": email.user_id,
        "to_address": email.to,
        "language": email.language,
        "subject": email.subject,
        "body_sealed": sealed.ciphertext,
        "data_key_id": sealed.key_id,
        "unsubscribe_url": email.unsubscribe_url,
        "state": email.state.value,
        "attempts": email.attempts,
        "next_attempt": email.next_attempt,
        "created_at": now,
        "updated_at": now,
    }


def _context(email_id: object) -> str:
    """Binds a sealed body to its row: copied into another, it does not open."""
    return f"emails/{email_id}:body"

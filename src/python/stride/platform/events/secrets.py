"""Secrets inside events: sealed by the producer, opened only by the consumer that acts on them.

An event lives on in outbox rows, streams and dead letters for days (ADR 0009) and every
subscriber reads it, so a credential in it — the single-use token of a password-reset link —
travels as a `SealedSecret`: AES-256-GCM under the event-secret keyring (STRIDE_EVENT_SECRET_KEYS)
that only the producing and the consuming service hold, apart from their own data keys. The
associated data names the event type, the user and where the secret may be sent (the address
a link is emailed to), so a ciphertext copied into another event, into the same event for
another user, or into one that would send it elsewhere, does not open.
"""

from __future__ import annotations

from stride.events.v1.sealed_secret_pb2 import SealedSecret
from stride.platform.crypto.sealing import DataKeyring, Sealed, SealingError
from stride.platform.events.consumer import UnprocessableEvent


def _bound_to(event_type: str, user: str, recipient: str) -> str:
    return f"event-secret|{event_type}|{user}|{recipient}"


def seal_secret(
    keys: DataKeyring, secret: str, *, event_type: str, user: str, recipient: str
) -> SealedSecret:
    """`secret` for an event of `event_type` about `user` (a resource name, `users/{id}`),
    to be sent to `recipient` (an email address) only."""
    sealed = keys.seal(secret.encode(), _bound_to(event_type, user, recipient))
    return SealedSecret(key_id=sealed.key_id, ciphertext=sealed.ciphertext)


def open_secret(
    keys: DataKeyring, sealed: SealedSecret, *, event_type: str, user: str, recipient: str
) -> str:
    """The secret, if it was sealed for this event type, user and recipient with a key in
    `keys`; else the event is unprocessable (no retry makes it open), and the error says so
    without it."""
    box = Sealed(sealed.key_id, sealed.ciphertext)
    try:
        opened = keys.open(box, _bound_to(event_type, user, recipient))
    except SealingError as error:
        raise UnprocessableEvent(
            f"the sealed secret of this {event_type} event for {user} does not open: {error}"
        ) from None
    return opened.decode()

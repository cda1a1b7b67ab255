"""An append-only, hash-chained audit trail of money decisions (who, when, what, why).

Each entry's hash covers its content and the previous entry's hash, so changing, removing or
reordering any past entry breaks every hash after it; `first_broken_link` finds where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Decision:
    """What an entry records, before it has its place in the chain."""

    actor: str  # `users/{user}` or `operator`.
    action: str  # e.g. `entitlement.granted`, `refund.issued`.
    subject: str  # The resource acted on.
    details: Mapping[str, Any]  # Amounts, reason: what an auditor needs.


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    at: datetime
    actor: str  # `users/{user}` or `operator`.
    action: str  # e.g. `entitlement.granted`, `refund.issued`.
    subject: str  # The resource acted on.
    details: Mapping[str, Any]  # Amounts, reason: what an auditor needs.
    previous_hash: str
    hash: str


def entry_hash(
    sequence: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    previous_hash: str,
) -> str:
    canonical = json.dumps(
        [sequence, at.isoformat(), actor, action, subject, details, previous_hash],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def next_entry(
    previous: AuditEntry | None,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
) -> AuditEntry:
    sequence = previous.sequence + 1 if previous else 1
    previous_hash = previous.hash if previous else GENESIS
    digest = entry_hash(sequence, at, actor, action, subject, details, previous_hash)
    return AuditEntry(sequence, at, actor, action, subject, dict(details), previous_hash, digest)


def chain(
    previous: AuditEntry | None, at: datetime, decisions: Sequence[Decision]
) -> list[AuditEntry]:
    """The entries recording `decisions` in order, each linked to the one before."""
    entries: list[AuditEntry] = []
    for decision in decisions:
        previous = next_entry(
            previous, at, decision.actor, decision.action, decision.subject, decision.details
        )
        entries.append(previous)
    return entries


def first_broken_link(entries: Sequence[AuditEntry]) -> int | None:
    """The sequence number of the first entry that does not check out, or None."""
    expected_previous, expected_sequence = GENESIS, 1
    for entry in entries:
        recomputed = entry_hash(
            entry.sequence,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.details,
            entry.previous_hash,
        )
        if (
            entry.sequence != expected_sequence
            or entry.previous_hash != expected_previous
            or entry.hash != recomputed
        ):
            return entry.sequence
        expected_previous, expected_sequence = entry.hash, entry.sequence + 1
    return None

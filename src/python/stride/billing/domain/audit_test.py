from dataclasses import replace
from datetime import UTC, datetime, timedelta

from stride.billing.domain.audit import AuditEntry, first_broken_link, next_entry

AT = datetime(2026, 12, 1, tzinfo=UTC)


def chain(count: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for index in range(count):
        previous = entries[-1] if entries else None
        entries.append(
            next_entry(
                previous,
                AT + timedelta(minutes=index),
                "users/manager",
                "refund.issued",
                f"users/m{index}/payments/p",
                {"amount_minor": 1000 * index, "currency": "SAR", "reason": "خطأ في الفوترة"},
            )
        )
    return entries


def test_an_untouched_chain_checks_out() -> None:
    assert first_broken_link(chain(5)) is None
    assert first_broken_link([]) is None


def test_a_changed_amount_is_found() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], details={**entries[2].details, "amount_minor": 1})
    assert first_broken_link(entries) == 3


def test_a_removed_or_reordered_entry_is_found() -> None:
    entries = chain(5)
    assert first_broken_link(entries[:2] + entries[3:]) == 4
    assert first_broken_link([entries[1], entries[0], *entries[2:]]) == 2


def test_rehashing_one_entry_still_breaks_the_next() -> None:
    entries = chain(4)
    forged = next_entry(entries[0], AT, "users/intruder", "refund.issued", "x", {"amount_minor": 9})
    assert first_broken_link([entries[0], forged, entries[2], entries[3]]) == 3

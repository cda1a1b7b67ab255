"""Checks the audit trail's hash chain: `python -m stride.billing.entrypoints.audit`.

Exits 0 when every entry checks out, 1 naming the first entry that does not (changed, removed
or reordered history), so it can run from cron or CI against a copy of production.
"""

from __future__ import annotations

import asyncio
import sys

from stride.billing.adapters.audit_repository import AuditRepository
from stride.billing.domain.audit import first_broken_link
from stride.platform.config import ServiceSettings, load_settings
from stride.platform.db.engine import create_engine, session_factory


async def verify(database_url: str) -> tuple[int, int | None]:
    """(entries read, first broken sequence or None)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            entries = await AuditRepository(session).entries()
    finally:
        await engine.dispose()
    return len(entries), first_broken_link(entries)


class AuditSettings(ServiceSettings):
    """Only the database: the verifier runs where Billing's payment secrets are not."""

    service_name: str = "billing-audit"


def main() -> int:
    settings = load_settings(AuditSettings)
    count, broken = asyncio.run(verify(settings.database_url))
    if broken is not None:
        print(f"audit trail broken at entry {broken} (of {count})", file=sys.stderr)
        return 1
    print(f"audit trail intact: {count} entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Applies the platform's and a service's Alembic revisions to the service's database.

Every service database carries the platform tables (outbox, inbox, idempotency keys) from the
`platform` branch next to the service's own branch; `upgrade heads` brings both up to date.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from stride.platform.db.engine import create_engine

_HERE = Path(__file__).parent
PLATFORM_VERSIONS = _HERE / "platform_versions"
# Any constant works; it only has to be the same in every process migrating one database.
_MIGRATION_LOCK_KEY = 0x5742_1DE0


def _alembic_config(versions: list[Path]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("path_separator", "space")
    config.set_main_option("version_locations", " ".join(str(path) for path in versions))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


async def run_migrations(database_url: str, service_versions: Path | None = None) -> None:
    """Upgrades to the newest revisions; concurrent callers wait for each other."""
    versions = [PLATFORM_VERSIONS, *([service_versions] if service_versions else [])]
    config = _alembic_config(versions)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
            await connection.run_sync(_upgrade, config)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Apply Stride migrations to a database.")
    parser.add_argument("database_url")
    parser.add_argument("service_versions", nargs="?", type=Path)
    args = parser.parse_args()
    asyncio.run(run_migrations(args.database_url, args.service_versions))


if __name__ == "__main__":
    main()

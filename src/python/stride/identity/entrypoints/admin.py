"""Operator commands run against Identity's database (bootstrap the first admin, support).

    python -m stride.identity.entrypoints.admin grant-role --email a@b.c --role admin
    python -m stride.identity.entrypoints.admin confirm-email --email a@b.c
    python -m stride.identity.entrypoints.admin reseal
    python -m stride.identity.entrypoints.admin announce-profiles

They run the same use cases as the RPCs, as a built-in operator principal with the admin role,
so the rules and the events are the same as when an admin calls the API.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial

from stride.identity.adapters.resealing import reseal_secrets
from stride.identity.config import IdentitySettings
from stride.identity.domain.model import User, normalize_email
from stride.identity.service_layer import commands, handlers
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.config import load_settings
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.errors import NotFound

OPERATOR = Principal(user_id=str(uuid.UUID(int=0)), roles=frozenset({"admin"}))


async def _user_id(new_uow: partial[IdentityUnitOfWork], email: str) -> uuid.UUID:
    async with new_uow() as uow:
        found = await uow.users.get_with_password_hash(normalize_email(email))
    if found is None:
        raise NotFound("USER_NOT_FOUND", "user.not_found")
    return found[0].id


@asynccontextmanager
async def _units_of_work(settings: IdentitySettings) -> AsyncIterator[partial[IdentityUnitOfWork]]:
    """Units of work on Identity's database, for the length of one command."""
    engine = create_engine(settings.database_url)
    data_keys = DataKeyring.from_spec(settings.data_keys, settings.data_key_active)
    try:
        yield partial(
            IdentityUnitOfWork, session_factory(engine), data_keys, settings.event_secrets()
        )
    finally:
        await engine.dispose()


async def run_admin_command(settings: IdentitySettings, args: argparse.Namespace) -> User:
    async with _units_of_work(settings) as new_uow:
        user_id = await _user_id(new_uow, args.email)
        with authenticated_as(OPERATOR):
            if args.command == "grant-role":
                change = commands.ChangeRole(user_id, args.role, args.studio)
                return await handlers.grant_role(change, new_uow())
            return await handlers.confirm_email(user_id, new_uow())


async def reseal(settings: IdentitySettings) -> int:
    """Moves sealed secrets onto the active data key (see adapters.resealing)."""
    engine = create_engine(settings.database_url)
    data_keys = DataKeyring.from_spec(settings.data_keys, settings.data_key_active)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await reseal_secrets(session, data_keys)
    finally:
        await engine.dispose()


async def announce_profiles(settings: IdentitySettings, batch_size: int) -> int:
    """Every account's profile announced again (see handlers.announce_profiles)."""
    async with _units_of_work(settings) as new_uow:
        with authenticated_as(OPERATOR):
            command = commands.AnnounceProfiles(batch_size)
            return await handlers.announce_profiles(command, new_uow)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="identity-admin", description=__doc__)
    commands_parser = parser.add_subparsers(dest="command", required=True)
    grant = commands_parser.add_parser("grant-role", help="grant a role to an account")
    grant.add_argument("--email", required=True)
    grant.add_argument("--role", required=True)
    grant.add_argument("--studio", default="", help="studios/{id}; empty for admin")
    confirm = commands_parser.add_parser("confirm-email", help="mark an email as verified")
    confirm.add_argument("--email", required=True)
    commands_parser.add_parser("reseal", help="move sealed secrets onto the active data key")
    announce = commands_parser.add_parser(
        "announce-profiles",
        help="publish every account's language and time zone again, for services that missed them",
    )
    announce.add_argument("--batch-size", type=int, default=500, help="accounts per transaction")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = load_settings(IdentitySettings)
    if args.command == "reseal":
        moved = asyncio.run(reseal(settings))
        print(f"resealed {moved} secrets with data key {settings.data_key_active}")
        return 0
    if args.command == "announce-profiles":
        announced = asyncio.run(announce_profiles(settings, args.batch_size))
        print(f"announced {announced} profiles; the outbox relay publishes them")
        return 0
    user = asyncio.run(run_admin_command(settings, args))
    print(f"{user.resource_name} {user.email}: {[(g.role, g.studio) for g in user.roles]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What Billing's database tests share: Billing's schema on this module's own database, the
Stripe adapter pointed at localstripe, and Tabby's at a stand-in speaking its API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest
import pytest_asyncio

from billing.stripe_support import API_KEY
from billing.tabby_server import MERCHANT_CODE, SECRET_KEY, TabbyServer, running_tabby
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.adapters.tabby_financing import TabbyFinancing
from stride.billing.main import MIGRATIONS
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations


@pytest_asyncio.fixture(scope="module")
async def new_uow(database_url: str) -> AsyncIterator[partial[BillingUnitOfWork]]:
    """Units of work over a pool sized for the concurrency tests."""
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url, pool_size=20)
    yield partial(BillingUnitOfWork, session_factory(engine))
    await engine.dispose()


@pytest_asyncio.fixture(scope="module")
async def payments(stripe_api_base: str) -> AsyncIterator[StripePayments]:
    """The real Stripe adapter, pointed at this test process's localstripe."""
    adapter = StripePayments(API_KEY, stripe_api_base)
    yield adapter
    await adapter.close()


@pytest_asyncio.fixture(scope="module")
async def tabby() -> AsyncIterator[TabbyServer]:
    async with running_tabby() as server:
        yield server


@pytest.fixture(scope="module")
def financing(tabby: TabbyServer) -> TabbyFinancing:
    return TabbyFinancing(tabby.api_base, SECRET_KEY, MERCHANT_CODE, "stride://financing")

"""A local stand-in for Tabby's Checkout API (https://docs.tabby.ai), speaking its request and
response shapes, with the hosted page's two outcomes as endpoints the tests press."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from billing.stalls import Stall
from stride.platform.local.ports import free_port
from stride.platform.testing.http import serving

SECRET_KEY = "sk_test_tabby_stride"
MERCHANT_CODE = "stride_sa"
APPROVAL_LIMIT = Decimal("5000.00")  # Larger baskets are rejected at checkout.


@dataclass
class TabbyPayment:
    id: str
    amount: Decimal
    currency: str
    reference: str
    status: str = "CREATED"
    captures: list[dict[str, str]] = field(default_factory=list)
    refunds: list[dict[str, str]] = field(default_factory=list)

    def export(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "amount": f"{self.amount:.2f}",
            "currency": self.currency,
            "order": {"reference_id": self.reference},
            "captures": self.captures,
            "refunds": self.refunds,
        }


class TabbyServer:
    def __init__(self) -> None:
        self.payments: dict[str, TabbyPayment] = {}
        self.port = free_port()
        self.stall = Stall()  # Holds the API requests about given payments, when asked to.
        self.app = web.Application(middlewares=[self._authorized])
        self.app.add_routes(
            [
                web.post("/api/v2/checkout", self._checkout),
                web.get("/api/v2/payments/{id}", self._payment),
                web.post("/api/v2/payments/{id}/captures", self._capture),
                web.post("/api/v2/payments/{id}/refunds", self._refund),
                web.post("/hpp/{id}/{decision}", self._decide),
            ]
        )

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def decide(self, payment_id: str, approve: bool) -> None:
        """What the buyer does on Tabby's hosted page."""
        self.payments[payment_id].status = "AUTHORIZED" if approve else "REJECTED"

    @web.middleware
    async def _authorized(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if (
            request.path.startswith("/api/")
            and request.headers.get("authorization") != f"Bearer {SECRET_KEY}"
        ):
            return web.json_response({"error": "unauthorized"}, status=401)
        await self.stall.check(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    async def _checkout(self, request: web.Request) -> web.Response:
        body = await request.json()
        payment, merchant = body["payment"], body.get("merchant_code")
        amount = Decimal(payment["amount"])
        if merchant != MERCHANT_CODE or not payment["buyer"].get("email"):
            return web.json_response({"error": "bad request"}, status=400)
        if amount > APPROVAL_LIMIT:
            return web.json_response({"id": str(uuid.uuid4()), "status": "rejected"})
        created = TabbyPayment(
            str(uuid.uuid4()), amount, payment["currency"], payment["order"]["reference_id"]
        )
        self.payments[created.id] = created
        page = f"{self.api_base}/hpp/{created.id}"
        return web.json_response(
            {
                "id": str(uuid.uuid4()),
                "status": "created",
                "payment": created.export(),
                "configuration": {"available_products": {"installments": [{"web_url": page}]}},
            }
        )

    async def _payment(self, request: web.Request) -> web.Response:
        found = self.payments.get(request.match_info["id"])
        if found is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(found.export())

    async def _capture(self, request: web.Request) -> web.Response:
        found = self.payments[request.match_info["id"]]
        amount = Decimal((await request.json())["amount"])
        if found.status != "AUTHORIZED" or amount != found.amount:
            return web.json_response({"error": "cannot capture"}, status=400)
        found.status = "CLOSED"
        found.captures.append({"id": str(uuid.uuid4()), "amount": f"{amount:.2f}"})
        return web.json_response(found.export())

    async def _refund(self, request: web.Request) -> web.Response:
        found = self.payments[request.match_info["id"]]
        body = await request.json()
        amount = Decimal(body["amount"])
        refunded = sum((Decimal(r["amount"]) for r in found.refunds), Decimal(0))
        if found.status != "CLOSED" or amount + refunded > found.amount:
            return web.json_response({"error": "cannot refund"}, status=400)
        found.refunds.append(
            {
                "id": str(uuid.uuid4()),
                "amount": f"{amount:.2f}",
                "reference_id": str(body.get("reference_id", "")),
            }
        )
        return web.json_response(found.export())

    async def _decide(self, request: web.Request) -> web.Response:
        self.decide(request.match_info["id"], request.match_info["decision"] == "approve")
        return web.json_response({})


@asynccontextmanager
async def running_tabby() -> AsyncIterator[TabbyServer]:
    server = TabbyServer()
    async with serving(server.app, server.port):
        yield server

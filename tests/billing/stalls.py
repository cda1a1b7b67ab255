"""Slow providers on demand: requests that name given ids (a card, a payment) are held until
the test releases them, and the test waits until the ones it expects are held (a positive
probe, never a sleep). `StripeProxy` stands between the Stripe library and localstripe; the
Tabby stand-in holds its own requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from stride.platform.local.ports import free_port
from stride.platform.testing.http import serving

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class Stall:
    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._released = asyncio.Event()
        self._released.set()
        self._held = 0
        self._changed = asyncio.Condition()

    def hold(self, *ids: str) -> None:
        """From now on, requests naming any of `ids` wait until `release`."""
        self._ids.update(ids)
        self._released.clear()

    def release(self) -> None:
        self._ids.clear()
        self._released.set()

    async def holding(self, count: int) -> None:
        """Returns once `count` requests are held."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._held >= count)

    async def check(self, *texts: str) -> None:
        """Waits here while a request whose `texts` (path, body) name a held id is stalled."""
        if self._released.is_set() or not any(i in text for i in self._ids for text in texts):
            return
        async with self._changed:
            self._held += 1
            self._changed.notify_all()
        await self._released.wait()


class StripeProxy:
    """Stripe as Billing's network sees it: localstripe behind a proxy that can stall."""

    def __init__(self, upstream: str) -> None:
        self.port = free_port()
        self.stall = Stall()
        self._upstream = upstream
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._forward)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        await self.stall.check(request.path_qs, body.decode(errors="replace"))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with aiohttp.ClientSession() as http, http.request(
            request.method, self._upstream + request.path_qs, headers=headers, data=body
        ) as reply:
            return web.Response(
                status=reply.status, body=await reply.read(), content_type=reply.content_type
            )


@asynccontextmanager
async def stripe_proxy(upstream: str) -> AsyncIterator[StripeProxy]:
    proxy = StripeProxy(upstream)
    async with serving(proxy.app, proxy.port):
        yield proxy

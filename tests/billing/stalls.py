"""Slow and forgetful providers on demand. Requests that name given ids (a card, a payment) are
held until the test releases them, and the test waits until the ones it expects are held (a
positive probe, never a sleep). `StripeProxy` stands between the Stripe library and
localstripe; it can also lose Stripe's answers, as a crash or a timeout does after Stripe has
acted, and it keeps Stripe's idempotency promise, which localstripe does not: a request
repeated with the same idempotency key gets the first answer, and nothing happens twice. The
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
_Answer = tuple[int, bytes, str]  # Status, body, content type.


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
    """Stripe as Billing's network sees it: localstripe behind a proxy."""

    def __init__(self, upstream: str) -> None:
        self.port = free_port()
        self.stall = Stall()
        self._upstream = upstream
        self._answers: dict[str, _Answer] = {}  # The first answer to each idempotency key.
        self._losing: tuple[str, set[str]] = ("", set())
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._forward)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lose_answers(self, path: str, *ids: str) -> None:
        """From now on, Stripe acts on POSTs to `path` naming any of `ids`, but its answer is
        lost on the way back (Billing sees Stripe unavailable)."""
        self._losing = (path, set(ids))

    def answer_again(self) -> None:
        self._losing = ("", set())

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        text = body.decode(errors="replace")
        await self.stall.check(request.path_qs, text)
        key = request.headers.get("idempotency-key", "") if request.method == "POST" else ""
        answer = self._answers.get(key) if key else None
        if answer is None:
            answer = await self._upstream_answer(request, body)
            if key:
                self._answers[key] = answer
        path, ids = self._losing
        if request.path == path and any(i in text for i in ids):
            return web.json_response(
                {"error": {"type": "api_error", "message": "The answer was lost."}}, status=503
            )
        status, payload, content_type = answer
        return web.Response(status=status, body=payload, content_type=content_type)

    async def _upstream_answer(self, request: web.Request, body: bytes) -> _Answer:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with aiohttp.ClientSession() as http, http.request(
            request.method, self._upstream + request.path_qs, headers=headers, data=body
        ) as reply:
            return reply.status, await reply.read(), reply.content_type


@asynccontextmanager
async def stripe_proxy(upstream: str) -> AsyncIterator[StripeProxy]:
    proxy = StripeProxy(upstream)
    async with serving(proxy.app, proxy.port):
        yield proxy

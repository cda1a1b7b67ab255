"""A local stand-in for Twilio's Messages API, speaking its protocol: HTTP Basic with the
account's SID and auth token, form-encoded messages, Twilio's JSON resources and error bodies
(https://www.twilio.com/docs/api/errors)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from stride.platform.local.ports import free_port
from stride.platform.testing.http import serving

ACCOUNT_SID = f"AC{secrets.token_hex(16)}"
SENDER = "+15005550006"  # Twilio's magic test number that can send.


def twilio_error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


class TwilioServer:
    def __init__(self, journal: Path | None = None) -> None:
        self.port = free_port()
        self.journal = journal  # Where each accepted message is appended, one JSON per line.
        self.auth_token = secrets.token_hex(16)
        self.messages: list[dict[str, Any]] = []  # Accepted, oldest first.
        self.unsubscribed: set[str] = set()  # Numbers that texted STOP.
        self._failures: list[int] = []  # HTTP statuses the next sends fail with.
        self.app = web.Application()
        self.app.add_routes([web.post("/2010-04-01/Accounts/{account}/Messages.json", self._send)])

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, count: int, status: int = 503) -> None:
        self._failures = [status] * count

    async def _send(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        expected = base64.b64encode(f"{ACCOUNT_SID}:{self.auth_token}".encode()).decode()
        if account != ACCOUNT_SID or request.headers.get("authorization") != f"Basic {expected}":
            return twilio_error(401, 20003, "Authenticate")
        if self._failures:
            return twilio_error(self._failures.pop(0), 20500, "Internal Server Error")
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        if not to.startswith("+") or not to[1:].isdigit():
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.unsubscribed:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        if form.get("From") != SENDER or not body:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        message = {
            "sid": f"SM{secrets.token_hex(16)}",
            "account_sid": account,
            "to": to,
            "from": SENDER,
            "body": body,
            "status": "queued",
        }
        self.messages.append(message)
        if self.journal is not None:
            with self.journal.open("a") as journal:
                journal.write(json.dumps(message, ensure_ascii=False) + "\n")
        return web.json_response(message, status=201)


@asynccontextmanager
async def running_twilio() -> AsyncIterator[TwilioServer]:
    server = TwilioServer()
    async with serving(server.app, server.port):
        yield server

"""The frame of the small HTML pages Identity's emailed links open in a browser (reset_page,
verify_page, revert_page): in the account's language, Arabic right to left, and the headers that
keep the link's token to the page. The token is in the page's address, so no page sends a
Referer, none is kept in a cache, none may be framed (a framing site could watch the reset
form), and a page runs no script but its own, named by hash in its Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from html import escape

import grpc
from google.api import httpbody_pb2


def html_page(language: str, title: str, body: str, script: str = "") -> str:
    """`body` (already HTML) under `title`, in `language`, then `script` (the page's only one,
    which `security_headers` must be given too)."""
    direction = "rtl" if language == "ar" else "ltr"
    script_element = f"<script>{script}</script>\n" if script else ""
    return f"""<!doctype html>
<html lang="{escape(language)}" dir="{direction}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>{escape(title)}</title></head>
<body>
{body}
{script_element}</body>
</html>
"""


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def security_headers(scripts: Sequence[str] = ()) -> tuple[tuple[str, str], ...]:
    """The response headers of a page running `scripts` (inline, exactly as in the page), which
    call back only to the edge that served it."""
    policy = [
        "default-src 'none'",
        f"script-src {' '.join(map(_script_hash, scripts))}" if scripts else "script-src 'none'",
        "connect-src 'self'" if scripts else "connect-src 'none'",
        # The forms post with their script; without it, never as a query string in a URL.
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    return (
        ("content-security-policy", "; ".join(policy)),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    )


async def served(
    html: str, headers: tuple[tuple[str, str], ...], context: grpc.aio.ServicerContext
) -> httpbody_pb2.HttpBody:
    """The page as the edge's transcoder serves it, the headers sent as the call's metadata
    (Envoy passes them on as the HTTP response's)."""
    await context.send_initial_metadata(headers)
    return httpbody_pb2.HttpBody(content_type="text/html; charset=utf-8", data=html.encode())

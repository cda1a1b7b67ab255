"""What every page an emailed link opens must tell the browser: its address carries a
credential, so no cache, no Referer, no framing, and no script but the page's own."""

from __future__ import annotations

import base64
import hashlib
import re

from e2e.support import Reply

KEEPS_THE_TOKEN = {
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def policy(reply: Reply) -> dict[str, str]:
    """The Content-Security-Policy's directives by name."""
    header = reply.headers["content-security-policy"]
    return dict(directive.strip().partition(" ")[::2] for directive in header.split(";"))


def assert_keeps_its_token(reply: Reply, token: str) -> None:
    """An HTML page that keeps `token` (in its address) to itself and runs one script, the one
    its policy names by hash, which does not carry the token (so its hash is the same on every
    page)."""
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert KEEPS_THE_TOKEN.items() <= reply.headers.items()
    directives = policy(reply)
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'none'"
    (script,) = re.findall(r"<script>(.*?)</script>", reply.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert directives["script-src"] == f"'sha256-{digest}'"
    assert token not in script

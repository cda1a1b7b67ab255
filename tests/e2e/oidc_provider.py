"""A local OpenID Connect provider for tests, speaking the protocol Google, Apple and Facebook
speak: discovery document, JWKS, and an authorization-code token endpoint that issues RS256
ID tokens. The test plays both the user (consenting, which yields a code) and the app
(exchanging the code for tokens) — our backend only ever sees the ID token, as in production.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from urllib.request import Request, urlopen

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class LocalOidcProvider:
    client_id: str
    port: int = 0
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: secrets.token_hex(6))
    _grants: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/oauth2/v3/certs"

    def consent(self, subject: str, **claims: Any) -> str:
        """The user signs in at the provider and consents: returns an authorization code."""
        code = secrets.token_urlsafe(16)
        self._grants[code] = {"sub": subject, **claims}
        return code

    def exchange(self, code: str) -> dict[str, Any]:
        """What the app does with the code: POST /token (RFC 6749 §4.1.3)."""
        body = f"grant_type=authorization_code&code={code}&client_id={self.client_id}"
        request = Request(  # noqa: S310 - the provider's loopback URL.
            f"{self.issuer}/token",
            data=body.encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        with urlopen(request, timeout=5) as response:  # noqa: S310
            return dict(json.loads(response.read()))

    def id_token(self, claims: dict[str, Any], **overrides: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            **claims,
            **overrides,
        }
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def token_response(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        code = form.get("code", [""])[0]
        grant = self._grants.pop(code, None)
        if form.get("grant_type") != ["authorization_code"] or grant is None:
            return 400, {"error": "invalid_grant"}
        if form.get("client_id") != [self.client_id]:
            return 401, {"error": "invalid_client"}
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": self.id_token(grant),
        }


def _handler(provider: LocalOidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes = {
                "/.well-known/openid-configuration": provider.discovery,
                "/oauth2/v3/certs": provider.jwks,
            }
            route = routes.get(self.path)
            self._reply(200, route()) if route else self._reply(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            if self.path != "/token":
                self._reply(404, {"error": "not_found"})
                return
            self._reply(*provider.token_response(form))

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: test output stays readable."""

    return Handler


@contextmanager
def running_provider(client_id: str) -> Iterator[LocalOidcProvider]:
    provider = LocalOidcProvider(client_id)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()

"""A local stand-in for Firebase Cloud Messaging's HTTP v1 API and Google's OAuth 2.0 token
endpoint, speaking their protocol: the token endpoint checks the service account's signed
assertion (RFC 7523) and the send endpoint only takes the access tokens it issued."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from stride.platform.local.ports import free_port
from stride.platform.testing.http import serving

PROJECT_ID = "stride-test"
CLIENT_EMAIL = f"push@{PROJECT_ID}.iam.gserviceaccount.com"
# As Google documents them (written here, not taken from the adapter this stands in for): the
# scope FCM's HTTP v1 API requires, the grant a service account's signed assertion is exchanged
# under (RFC 7523), and the type of the error detail FCM adds to a refused send.
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def service_account_key(token_uri: str) -> tuple[str, rsa.RSAPublicKey]:
    """Google's JSON key file for a service account with a fresh RSA key, and the public half
    that the token endpoint checks assertions with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    key_file = {
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "token_uri": token_uri,
    }
    return json.dumps(key_file), key.public_key()


def google_error(
    status: int, code: str, message: str, fcm_error: str | None = None
) -> web.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if fcm_error is not None:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_error}]
    return web.json_response({"error": error}, status=status)


def oauth_error(error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=400)


class FcmServer:
    def __init__(self, journal: Path | None = None) -> None:
        self.port = free_port()
        self.journal = journal  # Where each accepted message is appended, one JSON per line.
        self.key_json, self._public_key = service_account_key(self.token_uri)
        self.token_lifetime_seconds = 3600
        self.tokens_issued = 0
        self.messages: list[dict[str, Any]] = []  # Accepted, oldest first.
        self.dead_tokens: set[str] = set()  # Registration tokens of uninstalled apps.
        self._access_tokens: set[str] = set()
        self._failures: list[int] = []  # HTTP statuses the next sends fail with.
        self.app = web.Application()
        self.app.add_routes(
            [
                web.post("/token", self._token),
                web.post("/v1/projects/{project}/messages:send", self._send),
            ]
        )

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.api_base}/token"

    def fail_next(self, count: int, status: int = 503) -> None:
        self._failures = [status] * count

    def revoke_access_tokens(self) -> None:
        self._access_tokens.clear()

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assertion = form.get("assertion")
        if form.get("grant_type") != JWT_BEARER_GRANT or not isinstance(assertion, str):
            return oauth_error("unsupported_grant_type", "Invalid grant_type.")
        try:
            claims = jwt.decode(
                assertion,
                self._public_key,
                algorithms=["RS256"],
                audience=self.token_uri,
                issuer=CLIENT_EMAIL,
                options={"require": ["iss", "scope", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError:
            return oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims["exp"] - claims["iat"] > 3600:
            return oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token")
        if SCOPE not in str(claims["scope"]).split():
            return oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience.")
        access_token = f"ya29.{secrets.token_urlsafe(32)}"
        self._access_tokens.add(access_token)
        self.tokens_issued += 1
        return web.json_response(
            {
                "access_token": access_token,
                "expires_in": self.token_lifetime_seconds,
                "token_type": "Bearer",
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        scheme, _, access_token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or access_token not in self._access_tokens:
            return google_error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
            )
        project = request.match_info["project"]
        if project != PROJECT_ID:
            return google_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
        if self._failures:
            return google_error(self._failures.pop(0), "UNAVAILABLE", "The service is unavailable.")
        message = (await request.json()).get("message", {})
        if not message.get("token") or "notification" not in message:
            return google_error(
                400, "INVALID_ARGUMENT", "The message needs a token.", "INVALID_ARGUMENT"
            )
        if message["token"] in self.dead_tokens:
            return google_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        self.messages.append(message)
        if self.journal is not None:
            with self.journal.open("a") as journal:
                journal.write(json.dumps(message, ensure_ascii=False) + "\n")
        return web.json_response({"name": f"projects/{project}/messages/{len(self.messages)}"})


@asynccontextmanager
async def running_fcm() -> AsyncIterator[FcmServer]:
    server = FcmServer()
    async with serving(server.app, server.port):
        yield server

"""What `./pants up` gives Notifications instead of Firebase, an SMTP relay and Twilio, and
Activity instead of Strava, Fitbit and Garmin: local servers speaking their protocols (the
same stand-ins the tests use), which keep what they receive under `<data>/outbox/` — pushes and
texts as JSON lines, emails as .eml files, the Strava webhook events, Fitbit notifications and
Garmin pushes sent as JSON lines — so a developer sees every message the platform sends and
gets."""

from __future__ import annotations

import asyncio
import secrets
import threading
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from email.utils import make_msgid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from stack.fcm import PROJECT_ID, FcmServer
from stack.fitbit import FitbitServer
from stack.garmin import GarminServer
from stack.strava import StravaServer, create_subscription
from stack.twilio import ACCOUNT_SID, SENDER, TwilioServer
from stride.platform.local.ports import free_port
from stride.platform.testing.http import serving


class MailDrop:
    """aiosmtpd's handler: each accepted message as an .eml file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name.
        self, server: object, session: object, envelope: Envelope
    ) -> str:
        name = make_msgid(idstring="stride").strip("<>").replace("@", "_")
        (self.directory / f"{name}.eml").write_bytes(envelope.original_content or b"")
        return "250 OK"


@dataclass(frozen=True)
class LocalStrava:
    server: StravaServer
    verify_token: str  # What our webhook subscription is made with.

    def environment(self, public_base_url: str) -> dict[str, str]:
        """Activity's settings for the local Strava, whose subscription gets the id given."""
        return {
            "STRIDE_STRAVA_CLIENT_ID": self.server.client_id,
            "STRIDE_STRAVA_CLIENT_SECRET": self.server.client_secret,
            "STRIDE_STRAVA_REDIRECT_URI": f"{public_base_url}/connect/strava",
            "STRIDE_STRAVA_VERIFY_TOKEN": self.verify_token,
            "STRIDE_STRAVA_SUBSCRIPTION_ID": str(self.server.next_subscription_id),
            "STRIDE_STRAVA_OAUTH_BASE": self.server.oauth_base,
            "STRIDE_STRAVA_API_BASE": self.server.api_base,
        }

    def subscribe(self, public_base_url: str) -> None:
        """What one does once with Strava: subscribe our webhook (Strava checks it with the
        verify-token handshake, through the edge)."""
        callback = f"{public_base_url}/v1/webhooks/strava"
        status, answer = asyncio.run(create_subscription(self.server, callback, self.verify_token))
        if status != 201:
            raise RuntimeError(f"the local Strava refused the webhook subscription: {answer}")


@dataclass(frozen=True)
class LocalFitbit:
    server: FitbitServer
    verification_code: str  # What Fitbit checks our subscriber endpoint with.

    def environment(self, public_base_url: str) -> dict[str, str]:
        """Activity's settings for the local Fitbit (its authorize page and API on one port)."""
        return {
            "STRIDE_FITBIT_CLIENT_ID": self.server.client_id,
            "STRIDE_FITBIT_CLIENT_SECRET": self.server.client_secret,
            "STRIDE_FITBIT_REDIRECT_URI": f"{public_base_url}/connect/fitbit",
            "STRIDE_FITBIT_VERIFICATION_CODE": self.verification_code,
            "STRIDE_FITBIT_AUTHORIZE_BASE": self.server.base_url,
            "STRIDE_FITBIT_API_BASE": self.server.base_url,
        }

    def add_subscriber(self, public_base_url: str) -> None:
        """What one does once in Fitbit's application settings: add our subscriber endpoint,
        which Fitbit checks with the verification code, through the edge."""
        url = f"{public_base_url}/v1/webhooks/fitbit"
        if not asyncio.run(self.server.verify_subscriber(url, self.verification_code)):
            raise RuntimeError("the local Fitbit could not verify the subscriber endpoint")


@dataclass(frozen=True)
class LocalGarmin:
    server: GarminServer

    def environment(self, public_base_url: str) -> dict[str, str]:
        """Activity's settings for the local Garmin (consent page, token endpoint and API on
        one port)."""
        return {
            "STRIDE_GARMIN_CLIENT_ID": self.server.client_id,
            "STRIDE_GARMIN_CLIENT_SECRET": self.server.client_secret,
            "STRIDE_GARMIN_REDIRECT_URI": f"{public_base_url}/connect/garmin",
            "STRIDE_GARMIN_CONNECT_BASE": self.server.base_url,
            "STRIDE_GARMIN_AUTH_BASE": self.server.base_url,
            "STRIDE_GARMIN_API_BASE": self.server.base_url,
        }

    def configure_push(self, public_base_url: str) -> None:
        """What one does once in Garmin's developer portal: point its pushes at our endpoint,
        through the edge."""
        self.server.push_url = f"{public_base_url}/v1/webhooks/garmin"


@dataclass(frozen=True)
class LocalProviders:
    outbox: Path
    fcm: FcmServer
    twilio: TwilioServer
    smtp_port: int
    service_account_file: Path
    unsubscribe_secret: str
    strava: LocalStrava
    fitbit: LocalFitbit
    garmin: LocalGarmin

    def environment(self, public_base_url: str) -> dict[str, str]:
        """Notifications' settings for these providers."""
        return {
            "STRIDE_FCM_PROJECT_ID": PROJECT_ID,
            "STRIDE_FCM_SERVICE_ACCOUNT_FILE": str(self.service_account_file),
            "STRIDE_FCM_API_BASE": self.fcm.api_base,
            "STRIDE_SMTP_HOST": "127.0.0.1",
            "STRIDE_SMTP_PORT": str(self.smtp_port),
            "STRIDE_SMTP_STARTTLS": "false",
            "STRIDE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "STRIDE_TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "STRIDE_TWILIO_API_BASE": self.twilio.api_base,
            "STRIDE_SMS_FROM": SENDER,
            "STRIDE_UNSUBSCRIBE_SECRET": self.unsubscribe_secret,
            "STRIDE_PUBLIC_BASE_URL": public_base_url,
        }


def start_providers(data: Path, stack: ExitStack) -> LocalProviders:
    outbox = data / "outbox"
    (outbox / "mail").mkdir(parents=True, exist_ok=True)
    fcm, twilio = FcmServer(outbox / "pushes.jsonl"), TwilioServer(outbox / "texts.jsonl")
    strava = StravaServer(outbox / "strava-events.jsonl")
    strava.sign_in(strava.add_athlete())  # Who approves connections at the local Strava.
    fitbit = FitbitServer(outbox / "fitbit-notifications.jsonl")
    fitbit.sign_in(fitbit.add_user())  # Who approves connections at the local Fitbit.
    garmin = GarminServer(outbox / "garmin-pushes.jsonl")
    garmin.sign_in(garmin.add_user())  # Who approves connections at the local Garmin.
    key_file = data / "keys" / "fcm-service-account.json"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(fcm.key_json)
    key_file.chmod(0o600)
    smtp = Controller(MailDrop(outbox / "mail"), hostname="127.0.0.1", port=free_port())
    smtp.start()
    stack.callback(smtp.stop)
    _serve_in_background([fcm, twilio, strava, fitbit, garmin], stack)
    return LocalProviders(
        outbox,
        fcm,
        twilio,
        smtp.port,
        key_file,
        _unsubscribe_secret(data / "keys"),
        LocalStrava(strava, secrets.token_urlsafe(24)),
        LocalFitbit(fitbit, secrets.token_urlsafe(24)),
        LocalGarmin(garmin),
    )


def _serve_in_background(
    servers: list[FcmServer | TwilioServer | StravaServer | FitbitServer | GarminServer],
    stack: ExitStack,
) -> None:
    """The HTTP stand-ins on their own event loop in a thread, until the stack closes."""
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), asyncio.Event()

    async def run() -> None:
        async with AsyncExitStack() as servers_up:
            for server in servers:
                await servers_up.enter_async_context(serving(server.app, server.port))
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    started.wait(timeout=30)
    stack.callback(thread.join, 10)
    stack.callback(loop.call_soon_threadsafe, stop.set)


def _unsubscribe_secret(keys: Path) -> str:
    """Kept across restarts, so unsubscribe links in emails already sent keep working."""
    path = keys / "unsubscribe-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()

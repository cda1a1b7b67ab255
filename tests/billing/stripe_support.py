"""What the member's app and Stripe do around a purchase, against localstripe: tokenize a card
(Stripe's SDK), complete 3-D Secure (Stripe's page), and deliver signed webhook events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from typing import Any

import stripe

API_KEY = "sk_test_stride"
WEBHOOK_SECRET = "whsec_stride_test"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_3DS = "4000002500003155"
INTENTS = "/v1/payment_intents"  # Where PaymentIntents are created and confirmed.


def stripe_client(api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": api_base})


def tokenized_card(api_base: str, number: str) -> str:
    """A PaymentMethod id, as the app gets from Stripe's SDK: the card never reaches Stride."""
    params: Any = {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    }
    return str(stripe_client(api_base).v1.payment_methods.create(params=params).id)


def payment_intents(api_base: str) -> list[dict[str, Any]]:
    """Every PaymentIntent localstripe holds, page after page."""
    listed = stripe_client(api_base).v1.payment_intents.list(params={"limit": 100})
    return [intent.to_dict() for intent in listed.auto_paging_iter()]


def intents_of(api_base: str, key: str, name: str) -> list[str]:
    """The ids of the PaymentIntents whose metadata names `name` under `key`."""
    return [i["id"] for i in payment_intents(api_base) if i["metadata"].get(key) == name]


def complete_3ds(api_base: str, payment_intent: str, client_secret: str, success: bool) -> None:
    """What the card issuer's page does when the member approves (or fails) 3-D Secure."""
    body = urllib.parse.urlencode(
        {"client_secret": client_secret, "success": "true" if success else "false"}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - localstripe on loopback.
        f"{api_base}/v1/payment_intents/{payment_intent}/_authenticate",
        data=body,
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def events(api_base: str, event_type: str) -> list[dict[str, Any]]:
    """Events localstripe recorded, newest first, as Stripe would deliver them."""
    listed = stripe_client(api_base).v1.events.list(params={"type": event_type, "limit": 100})
    return [event.to_dict() for event in listed.data]


def event_for(api_base: str, event_type: str, payment_intent: str) -> dict[str, Any]:
    """The event of `event_type` localstripe recorded for one PaymentIntent."""
    return next(
        event
        for event in events(api_base, event_type)
        if event["data"]["object"]["id"] == payment_intent
    )


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """The event's bytes and its `Stripe-Signature` header, made as Stripe makes them."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return payload, f"t={timestamp},v1={digest}"

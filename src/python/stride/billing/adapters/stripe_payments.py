"""Card payments through Stripe with the official library (localstripe in tests and locally).

Only tokenized payment methods (`pm_…`, created by the app with Stripe's SDK) reach this code:
no card number ever passes through Stride, which keeps us in PCI SAQ-A scope. The library is
synchronous; calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import stripe

from stride.billing.domain.purchases import PurchaseState
from stride.platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    Unauthenticated,
    Unavailable,
)

T = TypeVar("T")
_TIMEOUT_SECONDS = 8

_STATES = {
    "succeeded": PurchaseState.SUCCEEDED,
    "requires_action": PurchaseState.REQUIRES_ACTION,
    "processing": PurchaseState.PROCESSING,
    # Stripe's state after a declined or unauthenticated attempt: the app may try another card.
    "requires_payment_method": PurchaseState.FAILED,
    "canceled": PurchaseState.FAILED,
}


@dataclass(frozen=True)
class PaymentOutcome:
    """What Stripe says about one purchase's payment."""

    state: PurchaseState
    payment_intent: str = ""  # "" when the card was refused before an intent existed.
    client_secret: str = ""
    failure_code: str = ""


@dataclass(frozen=True)
class SavedCard:
    payment_method: str  # `pm_…`
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class StripeEvent:
    id: str
    type: str
    object: Mapping[str, Any]  # `data.object`: the PaymentIntent, Charge… the event is about.


def outcome_of(intent: Mapping[str, Any]) -> PaymentOutcome:
    """A PaymentIntent (from an API answer or a webhook) as a purchase's payment outcome."""
    error = intent.get("last_payment_error") or {}
    return PaymentOutcome(
        _STATES.get(str(intent.get("status")), PurchaseState.PROCESSING),
        str(intent.get("id") or ""),
        str(intent.get("client_secret") or ""),
        str(error.get("code") or ""),
    )


class StripePayments:
    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        addresses = {"api": api_base} if api_base else {}
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            # Retries are safe: every mutation carries an idempotency key. The timeout stays
            # under the RPC deadline so a slow Stripe is UNAVAILABLE, not a dropped call.
            max_network_retries=2,
            http_client=stripe.new_default_http_client(timeout=_TIMEOUT_SECONDS),
        )

    async def create_customer(self, member_id: uuid.UUID) -> str:
        def create() -> str:
            customer = self._client.v1.customers.create(
                params={"metadata": {"member": str(member_id)}},
                options={"idempotency_key": f"customer-{member_id}"},
            )
            return str(customer.id)

        return await _call(create)

    async def charge(
        self,
        customer: str,
        payment_method: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        *,
        off_session: bool = False,
    ) -> PaymentOutcome:
        """Confirms a PaymentIntent at once; with the same idempotency key Stripe answers a
        retry with the first intent instead of charging again. On-session (the member in the
        app) the card is saved to the customer first; off-session (a renewal) it already is."""

        def charge() -> PaymentOutcome:
            try:
                if not off_session:
                    self._attach(customer, payment_method)
                params = _intent_params(amount_minor, currency, customer, payment_method, metadata)
                if off_session:
                    params["off_session"] = True
                intent = self._client.v1.payment_intents.create(
                    params=params,
                    options={"idempotency_key": idempotency_key},
                )
            except stripe.CardError as error:
                refused = getattr(error.error, "payment_intent", None)  # None if refused early.
                return PaymentOutcome(
                    PurchaseState.FAILED,
                    str(refused.id) if refused else "",
                    failure_code=str(error.code or "card_declined"),
                )
            return outcome_of(intent.to_dict())

        return await _call(charge)

    async def save_card(self, customer: str, payment_method: str) -> None:
        """Saves a card to the customer for later off-session charges; a card the issuer
        refuses already is the caller's mistake."""

        def save() -> None:
            try:
                self._attach(customer, payment_method)
            except stripe.CardError:
                raise InvalidArgument(
                    [FieldViolation("payment_method", "purchase.card_refused")]
                ) from None

        await _call(save)

    async def saved_cards(self, customer: str) -> list[SavedCard]:
        def listed() -> list[SavedCard]:
            methods = self._client.v1.payment_methods.list(
                params={"customer": customer, "type": "card", "limit": 100}
            )
            cards = []
            for method in methods.data:
                card = method.to_dict().get("card") or {}
                cards.append(
                    SavedCard(
                        str(method.id),
                        str(card.get("brand", "")),
                        str(card.get("last4", "")),
                        int(card.get("exp_month", 0)),
                        int(card.get("exp_year", 0)),
                    )
                )
            return cards

        return await _call(listed)

    def _attach(self, customer: str, payment_method: str) -> None:
        try:
            self._client.v1.payment_methods.attach(payment_method, params={"customer": customer})
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:  # No such payment method (or not this account's).
                raise InvalidArgument(
                    [FieldViolation("payment_method", "purchase.invalid_payment_method")]
                ) from None
            raise

    async def payment(self, payment_intent: str) -> PaymentOutcome:
        """Where an earlier attempt's PaymentIntent stands now."""
        return await _call(
            lambda: outcome_of(self._client.v1.payment_intents.retrieve(payment_intent).to_dict())
        )

    async def refund(
        self,
        payment_intent: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> str:
        """Gives `amount_minor` of a payment back; Stripe's refund id."""

        def refund() -> str:
            try:
                made = self._client.v1.refunds.create(
                    params={
                        "payment_intent": payment_intent,
                        "amount": amount_minor,
                        "metadata": dict(metadata),
                    },
                    options={"idempotency_key": idempotency_key},
                )
            except stripe.InvalidRequestError as error:  # Stripe will not (disputed, too old…).
                raise FailedPrecondition("REFUND_REFUSED", "refund.refused") from error
            return str(made.id)

        return await _call(refund)


class StripeWebhooks:
    def __init__(self, signing_secret: str, tolerance_seconds: int) -> None:
        self._secret = signing_secret
        self._tolerance = tolerance_seconds

    def verify(self, payload: bytes, signature: str) -> StripeEvent:
        """The event, if `signature` is Stripe's for exactly these bytes and recent enough."""
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self._secret, tolerance=self._tolerance
            )
        except (stripe.SignatureVerificationError, ValueError):
            raise Unauthenticated("BAD_SIGNATURE", "webhook.bad_signature") from None
        body = event.to_dict()
        return StripeEvent(str(body["id"]), str(body["type"]), body["data"]["object"])


def _intent_params(
    amount_minor: int,
    currency: str,
    customer: str,
    payment_method: str,
    metadata: Mapping[str, str],
) -> Any:  # The library's typed params lack `payment_method_types` (see below).
    return {
        "amount": amount_minor,
        "currency": currency.lower(),
        "customer": customer,
        "payment_method": payment_method,
        # Cards only: no redirect-based method, so no return URL. Stripe still accepts this
        # long-standing parameter, and localstripe knows no other way to say it.
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": dict(metadata),
    }


async def _call(request: Callable[[], T]) -> T:
    """Runs a blocking Stripe call; Stripe being down or refusing us is UNAVAILABLE, which the
    client retries with the same request id."""
    try:
        return await asyncio.to_thread(request)
    except stripe.StripeError as error:
        raise Unavailable("PAYMENTS_UNAVAILABLE", "payments.unavailable") from error

"""Card payments through Stripe with the official library (localstripe in tests and locally).

Only tokenized payment methods (`pm_…`, created by the app with Stripe's SDK) reach this code:
no card number ever passes through Stride, which keeps us in PCI SAQ-A scope. Calls go through
the library's asynchronous client on aiohttp, so a slow Stripe ties up no thread and no lock:
only the waiting request.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import aiohttp
import stripe

from stride.billing.domain.payments import (
    CustomerGone,
    PaymentOutcome,
    PaymentReport,
    ProviderEvent,
    SavedCard,
)
from stride.billing.domain.purchases import PurchaseState
from stride.platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    Unauthenticated,
    Unavailable,
)

_STATES = {
    "succeeded": PurchaseState.SUCCEEDED,
    "requires_action": PurchaseState.REQUIRES_ACTION,
    "processing": PurchaseState.PROCESSING,
    # Stripe's state after a declined or unauthenticated attempt: the app may try another card.
    "requires_payment_method": PurchaseState.FAILED,
    "canceled": PurchaseState.FAILED,
}


def outcome_of(intent: Mapping[str, Any]) -> PaymentOutcome:
    """A PaymentIntent (from an API answer or a webhook) as a payment's outcome."""
    error = intent.get("last_payment_error") or {}
    return PaymentOutcome(
        _STATES.get(str(intent.get("status")), PurchaseState.PROCESSING),
        str(intent.get("id") or ""),
        str(intent.get("client_secret") or ""),
        str(error.get("code") or ""),
    )


class StripePayments:
    def __init__(
        self, api_key: str, api_base: str | None = None, *, timeout_seconds: float = 8
    ) -> None:
        addresses = {"api": api_base} if api_base else {}
        # The timeout stays under the RPC deadline, so a slow Stripe is UNAVAILABLE, not a
        # dropped call.
        self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=timeout_seconds))
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            # Retries are safe: every mutation carries an idempotency key.
            max_network_retries=2,
            http_client=self._http,
        )

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def create_customer(self, member_id: uuid.UUID, replacing: str = "") -> str:
        """The member's customer: one per member (and one per customer it replaces, if that
        one is gone), however many attempts race to make it."""
        key = f"customer-{member_id}" + (f"-replacing-{replacing}" if replacing else "")
        try:
            customer = await self._client.v1.customers.create_async(
                params={"metadata": {"member": str(member_id)}},
                options={"idempotency_key": key},
            )
        except stripe.StripeError as error:
            raise _unavailable() from error
        return str(customer.id)

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
        try:
            if not off_session:
                await self._attach(customer, payment_method)
            params = _intent_params(amount_minor, currency, customer, payment_method, metadata)
            if off_session:
                params["off_session"] = True
            intent = await self._client.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as error:
            refused = getattr(error.error, "payment_intent", None)  # None if refused early.
            return PaymentOutcome(
                PurchaseState.FAILED,
                str(refused.id) if refused else "",
                failure_code=str(error.code or "card_declined"),
            )
        except stripe.StripeError as error:
            raise await self._failure(error, customer) from error
        return outcome_of(intent.to_dict())

    async def save_card(self, customer: str, payment_method: str) -> None:
        """Saves a card to the customer for later off-session charges; a card the issuer
        refuses already is the caller's mistake."""
        try:
            await self._attach(customer, payment_method)
        except stripe.CardError:
            raise InvalidArgument(
                [FieldViolation("payment_method", "purchase.card_refused")]
            ) from None
        except stripe.StripeError as error:
            raise await self._failure(error, customer) from error

    async def saved_cards(self, customer: str) -> list[SavedCard]:
        try:
            methods = await self._client.v1.payment_methods.list_async(
                params={"customer": customer, "type": "card", "limit": 100}
            )
        except stripe.StripeError as error:
            raise await self._failure(error, customer) from error
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

    async def _attach(self, customer: str, payment_method: str) -> None:
        try:
            await self._client.v1.payment_methods.attach_async(
                payment_method, params={"customer": customer}
            )
        except stripe.InvalidRequestError as error:
            if error.http_status != 404:
                raise
            if await self._customer_gone(customer):
                raise CustomerGone(customer) from None
            # No such payment method (or not this account's).
            raise InvalidArgument(
                [FieldViolation("payment_method", "purchase.invalid_payment_method")]
            ) from None

    async def _failure(self, error: stripe.StripeError, customer: str) -> Exception:
        """What a failed call that named `customer` means: Stripe answers `resource_missing`
        (404) for a customer it no longer knows, which no retry fixes; anything else is
        Stripe unavailable, and a retry may."""
        missing = isinstance(error, stripe.InvalidRequestError) and error.http_status == 404
        if missing and await self._customer_gone(customer):
            return CustomerGone(customer)
        return _unavailable()

    async def _customer_gone(self, customer: str) -> bool:
        """Whether Stripe no longer knows the customer: it answers a deleted one as such, and
        one it never knew (another account's, a reset test account's) as missing."""
        try:
            found = await self._client.v1.customers.retrieve_async(customer)
        except stripe.InvalidRequestError as error:
            return error.http_status == 404
        except stripe.StripeError:
            return False
        return bool(found.to_dict().get("deleted"))

    async def payment(self, payment_intent: str) -> PaymentOutcome:
        """Where an earlier attempt's PaymentIntent stands now."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(payment_intent)
        except stripe.StripeError as error:
            raise _unavailable() from error
        return outcome_of(intent.to_dict())

    async def refund(
        self,
        payment_intent: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> str:
        """Gives `amount_minor` of a payment back; Stripe's refund id."""
        try:
            made = await self._client.v1.refunds.create_async(
                params={
                    "payment_intent": payment_intent,
                    "amount": amount_minor,
                    "metadata": dict(metadata),
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:  # Stripe will not (disputed, too old…).
            raise FailedPrecondition("REFUND_REFUSED", "refund.refused") from error
        except stripe.StripeError as error:
            raise _unavailable() from error
        return str(made.id)


class StripeWebhooks:
    def __init__(self, signing_secret: str, tolerance_seconds: int) -> None:
        self._secret = signing_secret
        self._tolerance = tolerance_seconds

    def verify(self, payload: bytes, signature: str) -> ProviderEvent:
        """The event, if `signature` is Stripe's for exactly these bytes and recent enough."""
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self._secret, tolerance=self._tolerance
            )
        except (stripe.SignatureVerificationError, ValueError):
            raise Unauthenticated("BAD_SIGNATURE", "webhook.bad_signature") from None
        body = event.to_dict()
        subject = body["data"]["object"]
        payment = None
        if subject.get("object") == "payment_intent":
            payment = PaymentReport(
                outcome_of(subject),
                int(subject.get("amount") or 0),
                str(subject.get("payment_method") or ""),
                {str(key): str(value) for key, value in (subject.get("metadata") or {}).items()},
            )
        return ProviderEvent(str(body["id"]), str(body["type"]), payment)


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


def _unavailable() -> Unavailable:
    """Stripe being down or refusing us is UNAVAILABLE, which the client retries with the same
    request id."""
    return Unavailable("PAYMENTS_UNAVAILABLE", "payments.unavailable")

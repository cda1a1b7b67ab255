"""Buy now, pay later through Tabby's Checkout API (https://docs.tabby.ai): the member is sent
to Tabby's page to split the payment; once Tabby authorizes it, we capture the full amount and
Tabby collects the instalments from the member.

    POST /api/v2/checkout              → payment id and the page (`web_url`) for the member
    GET  /api/v2/payments/{id}         → status: CREATED, AUTHORIZED, CLOSED, REJECTED, EXPIRED
    POST /api/v2/payments/{id}/captures
    POST /api/v2/payments/{id}/refunds

Amounts are decimal strings in major units ("345.00"); the endpoint and keys are settings.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from stride.billing.domain.financing import Checkout, FinancingStatus
from stride.billing.domain.money import MINOR_DIGITS
from stride.platform.errors import FailedPrecondition, Unavailable

_STATUSES = {
    "CREATED": FinancingStatus.PENDING,
    "AUTHORIZED": FinancingStatus.AUTHORIZED,
    "CLOSED": FinancingStatus.CAPTURED,
    "REJECTED": FinancingStatus.REJECTED,
    "EXPIRED": FinancingStatus.REJECTED,
}


def decimal_amount(amount_minor: int, currency: str) -> str:
    digits = MINOR_DIGITS[currency]
    whole, fraction = divmod(amount_minor, 10**digits)
    return f"{whole}.{fraction:0{digits}d}"


class TabbyFinancing:
    name = "tabby"

    def __init__(
        self,
        api_base: str,
        secret_key: str,
        merchant_code: str,
        return_url: str,
        *,
        timeout_seconds: float = 8,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._headers = {"authorization": f"Bearer {secret_key}"}
        self._merchant_code = merchant_code
        self._return_url = return_url

    async def start_checkout(
        self,
        reference: str,
        amount_minor: int,
        currency: str,
        description: str,
        buyer_email: str,
        language: str,
    ) -> Checkout:
        amount = decimal_amount(amount_minor, currency)
        session = await self._call(
            "POST",
            "/api/v2/checkout",
            {
                "payment": {
                    "amount": amount,
                    "currency": currency,
                    "description": description,
                    "buyer": {"email": buyer_email},
                    "order": {"reference_id": reference, "items": []},
                },
                "lang": language,
                "merchant_code": self._merchant_code,
                "merchant_urls": {
                    outcome: f"{self._return_url}?result={outcome}"
                    for outcome in ("success", "cancel", "failure")
                },
            },
        )
        if session.get("status") != "created":
            raise FailedPrecondition("FINANCING_DECLINED", "financing.declined")
        installments = session["configuration"]["available_products"]["installments"]
        return Checkout(str(session["payment"]["id"]), str(installments[0]["web_url"]))

    async def status(self, payment_id: str) -> FinancingStatus:
        payment = await self._call("GET", f"/api/v2/payments/{payment_id}")
        return _STATUSES.get(str(payment.get("status")), FinancingStatus.PENDING)

    async def capture(
        self, payment_id: str, amount_minor: int, currency: str, reference: str
    ) -> None:
        await self._call(
            "POST",
            f"/api/v2/payments/{payment_id}/captures",
            {"amount": decimal_amount(amount_minor, currency), "reference_id": reference},
        )

    async def refund(
        self, payment_id: str, amount_minor: int, currency: str, reference: str
    ) -> str:
        """Tabby takes no idempotency key: a refund already made under `reference` (by an
        attempt whose answer was lost) is found on the payment instead of made again."""
        payment = await self._call("GET", f"/api/v2/payments/{payment_id}")
        if made := _refund_for(payment, reference):
            return made
        refunded = await self._call(
            "POST",
            f"/api/v2/payments/{payment_id}/refunds",
            {"amount": decimal_amount(amount_minor, currency), "reference_id": reference},
        )
        return _refund_for(refunded, reference) or reference

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as http, http.request(
                method, self._base + path, json=body, headers=self._headers
            ) as reply:
                if reply.status >= 500:
                    raise Unavailable("FINANCING_UNAVAILABLE", "financing.unavailable")
                if reply.status >= 400:
                    raise FailedPrecondition("FINANCING_REFUSED", "financing.refused")
                answer: dict[str, Any] = await reply.json()
                return answer
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Unavailable("FINANCING_UNAVAILABLE", "financing.unavailable") from error


def _refund_for(payment: dict[str, Any], reference: str) -> str:
    """The id of the payment's refund made under `reference`, or ""."""
    refunds = payment.get("refunds") or []
    return next((str(r["id"]) for r in refunds if r.get("reference_id") == reference), "")

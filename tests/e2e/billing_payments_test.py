"""Buying a class pack over REST through Envoy, paid with Stripe (localstripe), whose signed
webhooks reach Billing through the same edge."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from billing.stripe_support import (
    API_KEY,
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    WEBHOOK_SECRET,
    complete_3ds,
    event_for,
    signed,
    tokenized_card,
)
from e2e.support import (
    Account,
    Edge,
    EdgeFactory,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    new_admin,
    reason,
    running_billing,
    violations,
)
from stride.identity.config import IdentitySettings
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

EDGE_PORT = free_port()  # Known before the edge starts: Billing fetches the JWKS from it.


@pytest_asyncio.fixture(scope="module")
async def billing(
    postgres_server_url: str, nats_url: str, event_prefix: str, stripe_api_base: str
) -> AsyncIterator[RunningServer]:
    async with running_billing(
        postgres_server_url, nats_url, event_prefix, edge_jwks_url(EDGE_PORT), stripe_api_base
    ) as running:
        yield running


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer, billing: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeFactory]:
    with edge_factory(tmp_path_factory, identity=identity, billing=billing) as factory:
        yield factory


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory, stripe_api_base: str) -> Edge:
    edge = edges(listen_port=EDGE_PORT)
    # Stripe's dashboard step: send this account's events to our endpoint, signed.
    form = urllib.parse.urlencode(
        {"url": f"{edge.base_url}/v1/webhooks/stripe", "secret": WEBHOOK_SECRET}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - localstripe on loopback.
        f"{stripe_api_base}/_config/webhooks/stride",
        data=form,
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
    return edge


@dataclass(frozen=True)
class Shop:
    pack: str  # A studio's 10-class pack.
    monthly: str  # The studio's monthly membership.
    admin: dict[str, str]  # The admin's authorization header.


@pytest_asyncio.fixture(scope="module")
async def shop(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> Shop:
    """A studio's plans, created by an admin over REST."""
    auth = (await new_admin(edge, nats_url, event_prefix, identity_config)).auth
    plans = f"{edge.base_url}/v1/studios/olaya-{uuid.uuid4().hex[:8]}/plans"
    price = {"currencyCode": "SAR", "amountMinor": "30000"}
    pack = await call(
        "POST",
        plans,
        {
            "displayNameEn": "Ten classes",
            "displayNameAr": "عشر حصص",
            "kind": "KIND_CLASS_PACK",
            "price": price,
            "vatRateBasisPoints": 1500,
            "credits": 10,
            "validDays": 30,
        },
        **auth,
    )
    monthly = await call(
        "POST",
        plans,
        {
            "displayNameEn": "Unlimited monthly",
            "displayNameAr": "شهري غير محدود",
            "kind": "KIND_MONTHLY_MEMBERSHIP",
            "price": price,
            "vatRateBasisPoints": 1500,
        },
        **auth,
    )
    assert pack.status == monthly.status == 200, (pack.body, monthly.body)
    return Shop(str(pack.body["name"]), str(monthly.body["name"]), auth)


async def purchase(edge: Edge, account: Account, plan: str, card: str) -> dict[str, Any]:
    bought = await call(
        "POST",
        f"{edge.base_url}/v1/{account.name}/purchases",
        {"plan": plan, "paymentMethod": card, "requestId": str(uuid.uuid4())},
        **account.auth,
    )
    assert bought.status == 200, bought.body
    return bought.body


async def two_accounts(edge: Edge, nats_url: str, event_prefix: str) -> tuple[Account, Account]:
    return (
        await new_account(edge, nats_url, event_prefix),
        await new_account(edge, nats_url, event_prefix),
    )


async def settled(edge: Edge, account: Account, name: str) -> dict[str, Any]:
    """The purchase once Stripe's webhook has been through (it comes a moment later)."""

    async def webhook_applied() -> dict[str, Any] | None:
        got = await call("GET", f"{edge.base_url}/v1/{name}", **account.auth)
        assert got.status == 200, got.body
        return None if got.body["state"] == "STATE_REQUIRES_ACTION" else got.body

    return await eventually(webhook_applied)


async def packs(edge: Edge, account: Account) -> list[dict[str, Any]]:
    listed = await call("GET", f"{edge.base_url}/v1/{account.name}/entitlements", **account.auth)
    return list(listed.body.get("entitlements", []))


async def test_3d_secure_purchase_is_completed_by_stripe_s_webhook_once(
    edge: Edge, shop: Shop, nats_url: str, event_prefix: str, stripe_api_base: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    started = await purchase(edge, member, shop.pack, tokenized_card(stripe_api_base, CARD_3DS))
    assert started["state"] == "STATE_REQUIRES_ACTION"
    assert started["amount"] == {"currencyCode": "SAR", "amountMinor": "34500"}
    intent_secret = started["clientSecret"]
    payment_intent = intent_secret.split("_secret_")[0]

    complete_3ds(stripe_api_base, payment_intent, intent_secret, success=True)
    paid = await settled(edge, member, started["name"])

    assert paid["state"] == "STATE_SUCCEEDED"
    assert paid["clientSecret"] == ""  # Only ever in the purchase call's own answer.
    (bought,) = await packs(edge, member)
    assert (bought["name"], bought["creditsRemaining"]) == (paid["entitlement"], 10)

    event = event_for(stripe_api_base, "payment_intent.succeeded", payment_intent)
    replays = await asyncio.gather(*(replay(edge, event) for _ in range(100)))
    assert set(replays) == {200}
    assert len(await packs(edge, member)) == 1


async def replay(edge: Edge, event: dict[str, Any]) -> int:
    payload, signature = signed(event)
    return (
        await call(
            "POST", f"{edge.base_url}/v1/webhooks/stripe", payload, stripe_signature=signature
        )
    ).status


async def test_forged_webhooks_are_refused_at_the_service(edge: Edge, stripe_api_base: str) -> None:
    forged = {"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded"}
    payload, signature = signed(forged, secret="whsec_not_ours")
    refused = await call(
        "POST",
        f"{edge.base_url}/v1/webhooks/stripe",
        payload,
        stripe_signature=signature,
        accept_language="ar",
    )
    unsigned = await call(
        "POST", f"{edge.base_url}/v1/webhooks/stripe", json.dumps(forged).encode()
    )
    assert (refused.status, reason(refused)) == (401, "BAD_SIGNATURE")
    assert "توقيع" in refused.body["message"]
    assert unsigned.status == 401


async def test_a_declined_card_is_a_failed_purchase_and_others_cannot_see_it(
    edge: Edge, shop: Shop, nats_url: str, event_prefix: str, stripe_api_base: str
) -> None:
    member, other = await two_accounts(edge, nats_url, event_prefix)
    failed = await purchase(edge, member, shop.pack, tokenized_card(stripe_api_base, CARD_DECLINED))
    peeked = await call("GET", f"{edge.base_url}/v1/{failed['name']}", **other.auth)

    assert (failed["state"], failed["failureCode"]) == ("STATE_FAILED", "card_declined")
    assert await packs(edge, member) == []
    assert peeked.status == 403


async def test_managers_refund_over_rest_and_members_cannot(
    edge: Edge, shop: Shop, nats_url: str, event_prefix: str, stripe_api_base: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    bought = await purchase(edge, member, shop.pack, tokenized_card(stripe_api_base, CARD_OK))
    url = f"{edge.base_url}/v1/{bought['name']}:refund"
    body = {
        "amount": {"currencyCode": "SAR", "amountMinor": "34500"},
        "reason": "Moved away",
        "requestId": str(uuid.uuid4()),
    }

    by_member = await call("POST", url, body, **member.auth)
    by_admin = await call("POST", url, body, **shop.admin)
    replayed = await call("POST", url, body, **shop.admin)
    too_much = await call("POST", url, {**body, "requestId": "more"}, **shop.admin)

    assert by_member.status == 403
    assert by_admin.status == 200, by_admin.body
    assert by_admin.body["purchase"]["refunded"]["amountMinor"] == "34500"
    assert replayed.body["name"] == by_admin.body["name"]
    assert (too_much.status, reason(too_much)) == (400, "ALREADY_REFUNDED")
    (pack,) = await packs(edge, member)
    assert pack["creditsRemaining"] == 0


async def test_a_membership_bought_over_rest_is_a_subscription_the_member_can_cancel(
    edge: Edge, shop: Shop, nats_url: str, event_prefix: str, stripe_api_base: str
) -> None:
    member, other = await two_accounts(edge, nats_url, event_prefix)
    bought = await purchase(edge, member, shop.monthly, tokenized_card(stripe_api_base, CARD_OK))
    listed = await call("GET", f"{edge.base_url}/v1/{member.name}/subscriptions", **member.auth)
    peeked = await call("GET", f"{edge.base_url}/v1/{member.name}/subscriptions", **other.auth)
    start = datetime.now(UTC) + timedelta(minutes=1)
    paused = await call(
        "POST",
        f"{edge.base_url}/v1/{bought['subscription']}:pause",
        {"startTime": _rfc3339(start), "endTime": _rfc3339(start + timedelta(days=7))},
        **member.auth,
    )
    too_long = await call(
        "POST",
        f"{edge.base_url}/v1/{bought['subscription']}:pause",
        {"startTime": _rfc3339(start), "endTime": _rfc3339(start + timedelta(days=200))},
        **member.auth,
    )
    family = await call(
        "POST",
        f"{edge.base_url}/v1/{bought['subscription']}:addMember",
        {"member": other.name, "requestId": "family-1"},
        **member.auth,
    )
    cancel = f"{edge.base_url}/v1/{bought['subscription']}:cancel"
    by_other = await call("POST", cancel, {"atPeriodEnd": True}, **other.auth)
    cancelled = await call("POST", cancel, {"atPeriodEnd": True}, **member.auth)

    (subscription,) = listed.body["subscriptions"]
    assert subscription["name"] == bought["subscription"]
    assert (subscription["state"], subscription["price"]["amountMinor"]) == (
        "STATE_ACTIVE",
        "34500",
    )
    assert subscription["nextRenewalTime"] == subscription["currentPeriodEndTime"]
    assert paused.status == 200, paused.body
    assert paused.body["pauseStartTime"] == _rfc3339(start)
    assert paused.body["nextRenewalTime"] > subscription["nextRenewalTime"]
    assert too_long.status == 400
    # This plan has no add-on price: family members are refused, and the app is told why.
    assert family.status == 400, family.body
    assert reason(family) == "NO_ADD_ONS"
    (held,) = await packs(edge, member)
    assert (held["kind"], held["name"]) == ("KIND_MEMBERSHIP", bought["entitlement"])
    assert (peeked.status, by_other.status) == (403, 403)
    assert cancelled.status == 200, cancelled.body
    assert (cancelled.body["state"], cancelled.body["cancelAtPeriodEnd"]) == ("STATE_ACTIVE", True)


async def test_trials_and_family_members_over_rest(
    edge: Edge, shop: Shop, nats_url: str, event_prefix: str, stripe_api_base: str
) -> None:
    holder, family = await two_accounts(edge, nats_url, event_prefix)
    studio = shop.monthly.split("/plans/")[0]
    created = await call(
        "POST",
        f"{edge.base_url}/v1/{studio}/plans",
        {
            "displayNameEn": "Family, first week free",
            "displayNameAr": "عائلي، الأسبوع الأول مجانًا",
            "kind": "KIND_MONTHLY_MEMBERSHIP",
            "price": {"currencyCode": "SAR", "amountMinor": "30000"},
            "vatRateBasisPoints": 1500,
            "trialDays": 7,
            "addOnPrice": {"currencyCode": "SAR", "amountMinor": "10000"},
        },
        **shop.admin,
    )
    assert created.status == 200, created.body
    assert (created.body["trialDays"], created.body["addOnPrice"]["amountMinor"]) == (7, "10000")

    bought = await purchase(
        edge, holder, created.body["name"], tokenized_card(stripe_api_base, CARD_OK)
    )
    listed = await call("GET", f"{edge.base_url}/v1/{holder.name}/subscriptions", **holder.auth)
    in_trial = await call(
        "POST",
        f"{edge.base_url}/v1/{bought['subscription']}:addMember",
        {"member": family.name, "requestId": "family-1"},
        **holder.auth,
    )

    assert (bought["state"], bought["amount"].get("amountMinor", "0")) == ("STATE_SUCCEEDED", "0")
    (trialing,) = listed.body["subscriptions"]
    assert trialing["state"] == "STATE_TRIALING"
    assert trialing["trialEndTime"] == trialing["currentPeriodEndTime"]
    assert trialing["trialEndTime"] == trialing["nextRenewalTime"]
    # Family members join once the membership is paid for, not during the free trial.
    assert (in_trial.status, reason(in_trial)) == (400, "SUBSCRIPTION_NOT_ACTIVE")
    assert await packs(edge, family) == []


def receipt_page(url: str, token: str, language: str) -> tuple[int, str, bytes]:
    """The receipt as a browser gets it (blocking: run it off the services' event loop)."""
    request = urllib.request.Request(  # noqa: S310 - the edge on loopback.
        url, headers={"authorization": f"Bearer {token}", "accept-language": language}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as page:  # noqa: S310
            return page.status, page.headers["content-type"], page.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["content-type"], b""


async def test_invoices_receipts_and_cards_are_the_member_s_own(
    edge: Edge, shop: Shop, nats_url: str, event_prefix: str, stripe_api_base: str
) -> None:
    member, other = await two_accounts(edge, nats_url, event_prefix)
    await purchase(edge, member, shop.pack, tokenized_card(stripe_api_base, CARD_OK))
    listed = await call("GET", f"{edge.base_url}/v1/{member.name}/invoices", **member.auth)
    (invoice,) = listed.body["invoices"]
    receipt_url = f"{edge.base_url}/v1/{invoice['name']}:receipt"
    status, content_type, page = await asyncio.to_thread(
        receipt_page, receipt_url, member.access_token, "ar"
    )
    pdf_status, pdf_type, document = await asyncio.to_thread(
        receipt_page, f"{receipt_url}?format=FORMAT_PDF", member.access_token, "en"
    )
    cards = await call("GET", f"{edge.base_url}/v1/{member.name}/paymentMethods", **member.auth)

    assert invoice["total"] == {"currencyCode": "SAR", "amountMinor": "34500"}
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert 'dir="rtl"' in page.decode()
    assert invoice["number"] in page.decode()
    assert (pdf_status, pdf_type) == (200, "application/pdf")
    assert document.startswith(b"%PDF-")
    (card,) = cards.body["paymentMethods"]
    assert (card["brand"], card["last4"]) == ("visa", "4242")
    for url in (
        f"{edge.base_url}/v1/{member.name}/invoices",
        f"{edge.base_url}/v1/{member.name}/paymentMethods",
    ):
        assert (await call("GET", url, **other.auth)).status == 403
    refused = await asyncio.to_thread(receipt_page, receipt_url, other.access_token, "en")
    assert refused[0] == 403


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_studio_s_fees_are_patched_field_by_field_over_rest(edge: Edge, shop: Shop) -> None:
    fees = f"{edge.base_url}/v1/{shop.pack.split('/plans/')[0]}/fees"
    both = {
        "lateCancelFee": {"currencyCode": "SAR", "amountMinor": "5000"},
        "noShowFee": {"currencyCode": "SAR", "amountMinor": "10000"},
        "vatRateBasisPoints": 1500,
    }
    replaced = await call("PATCH", fees, both, **shop.admin)
    patched = await call(
        "PATCH",
        f"{fees}?updateMask=noShowFee",
        {"noShowFee": {"currencyCode": "SAR", "amountMinor": "20000"}},
        **shop.admin,
    )
    unknown = await call("PATCH", f"{fees}?updateMask=name", both, **shop.admin)
    got = await call("GET", fees, **shop.admin)

    assert (replaced.status, patched.status) == (200, 200), (replaced.body, patched.body)
    assert got.body["lateCancelFee"]["amountMinor"] == "5000"
    assert got.body["noShowFee"]["amountMinor"] == "20000"
    assert got.body["vatRateBasisPoints"] == 1500
    assert unknown.status == 400


async def test_a_page_token_continues_only_the_list_it_came_from(edge: Edge, shop: Shop) -> None:
    plans = f"{edge.base_url}/v1/{shop.pack.split('/plans/')[0]}/plans"
    first = await call("GET", f"{plans}?pageSize=1", **shop.admin)
    token = first.body["nextPageToken"]
    second = await call("GET", f"{plans}?pageSize=1&pageToken={token}", **shop.admin)
    elsewhere = await call(
        "GET", f"{edge.base_url}/v1/studios/elsewhere/plans?pageToken={token}", **shop.admin
    )

    assert [plan["name"] for plan in first.body["plans"]] == [shop.pack]
    assert [plan["name"] for plan in second.body["plans"]] == [shop.monthly]
    assert (elsewhere.status, violations(elsewhere)) == (400, {"page_token": "page.invalid_token"})

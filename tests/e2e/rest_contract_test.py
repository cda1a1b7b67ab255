"""The REST contract as the edge publishes it, and the running platform fuzzed from it: the
document at `GET /v1/openapi.json` is valid OpenAPI covering every RPC the edge routes, and a
bounded Schemathesis pass (tools/fuzz) as a member, a studio manager and an admin finds no 5xx,
no leaked internals and no body its schema does not describe."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from openapi_spec_validator import validate

from e2e.support import Edge, call, new_account, new_admin, signed_in, violations
from fuzz.run import Caller, fuzz
from stride.gateway.catalog import SERVICES
from stride.gateway.openapi import openapi_document
from stride.identity.config import IdentitySettings

# Examples per operation and role: a few minutes in all on a 2-core machine. The tool runs
# longer passes (`./pants run tools/fuzz/run.py`).
MAX_EXAMPLES = 3


@pytest.fixture(scope="module")
def edge(platform_edge: Edge) -> Edge:
    return platform_edge


@dataclass(frozen=True)
class Fuzzing:
    studio: str  # The studio's id, which fuzzed paths mostly name.
    callers: dict[str, Caller]


def caller(role: str, access_token: str, name: str) -> Caller:
    return Caller(role, access_token, name.removeprefix("users/"))


@pytest_asyncio.fixture(scope="module")
async def fuzzing(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> Fuzzing:
    admin = await new_admin(edge, nats_url, event_prefix, identity_config)
    studio = f"fuzz-{uuid.uuid4().hex[:8]}"
    created = await call(
        "POST",
        f"{edge.base_url}/v1/studios?studioId={studio}",
        {"displayName": "Fuzzed", "timeZone": "Asia/Riyadh"},
        **admin.auth,
    )
    assert created.status == 200, created.body
    member = await new_account(edge, nats_url, event_prefix)
    manager = await new_account(edge, nats_url, event_prefix)
    grant = {"grant": {"role": "manager", "studio": f"studios/{studio}"}}
    granted = await call(
        "POST", f"{edge.base_url}/v1/{manager.name}:grantRole", grant, **admin.auth
    )
    assert granted.status == 200, granted.body
    manager = await signed_in(edge, manager)
    return Fuzzing(
        studio,
        {
            "member": caller("member", member.access_token, member.name),
            "manager": caller("manager", manager.access_token, manager.name),
            "admin": caller("admin", admin.access_token, admin.name),
        },
    )


async def test_the_edge_serves_a_valid_document_of_every_rpc_it_routes(edge: Edge) -> None:
    served = await call("GET", f"{edge.base_url}/v1/openapi.json")
    assert served.status == 200
    assert served.headers["content-type"] == "application/json"
    validate(served.body)
    assert served.body == openapi_document()
    operations = {
        operation["operationId"]
        for item in served.body["paths"].values()
        for operation in item.values()
    }
    routed = {
        f"{c.descriptor.containing_service.name}_{c.descriptor.name}"
        for service in SERVICES
        for c in service.edge_methods
    }
    assert operations == routed


@pytest.mark.parametrize("role", ["member", "manager", "admin"])
async def test_fuzzing_every_operation_finds_nothing(
    edge: Edge, fuzzing: Fuzzing, role: str, tmp_path: Path
) -> None:
    status = await asyncio.to_thread(
        fuzz,
        edge.base_url,
        fuzzing.callers[role],
        fuzzing.studio,
        tmp_path,
        max_examples=MAX_EXAMPLES,
        seed=20261202,
    )
    assert status == 0, f"Schemathesis found failures as the {role}: see the output above"


def _routes_with_a_bad_segment(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(verb, path, parameter) for every path parameter of every operation, that parameter
    spelled `%ff%fe` (invalid UTF-8) and the others filled in."""
    cases = []
    for path, item in document["paths"].items():
        for verb, operation in item.items():
            names = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
            for bad in names:
                filled = path
                for name in names:
                    filled = filled.replace(f"{{{name}}}", "%ff%fe" if name == bad else "x1")
                cases.append((verb.upper(), filled, bad))
    return cases


BAD_SEGMENTS = _routes_with_a_bad_segment(openapi_document())


@pytest.mark.parametrize(("verb", "path", "parameter"), BAD_SEGMENTS, ids=lambda v: str(v))
async def test_a_path_segment_that_is_not_utf_8_is_a_bad_request_on_every_route(
    edge: Edge, fuzzing: Fuzzing, verb: str, path: str, parameter: str
) -> None:
    """Envoy hands the bytes through to the service; the platform reads them, not gRPC."""
    admin = fuzzing.callers["admin"]
    body: dict[str, Any] | None = {} if verb in ("POST", "PATCH", "PUT") else None
    reply = await call(
        verb, f"{edge.base_url}{path}", body, authorization=f"Bearer {admin.access_token}"
    )
    assert reply.status == 400, reply.body
    assert set(violations(reply).values()) == {"field.invalid_encoding"}


async def test_hostile_inputs_are_bad_requests_never_server_errors(
    edge: Edge, fuzzing: Fuzzing
) -> None:
    member = {"authorization": f"Bearer {fuzzing.callers['member'].access_token}"}
    long_email = {"email": "a" * 10_000 + "@example.com", "password": "whatever it is"}
    sign_in = await call("POST", f"{edge.base_url}/v1/sessions:signIn", long_email)
    page_token = await call(
        "GET",
        f"{edge.base_url}/v1/studios/{fuzzing.studio}/classSessions?pageToken=%00%ff",
        **member,
    )
    nul_segment = await call("GET", f"{edge.base_url}/v1/studios/%00/plans", **member)
    nul_fees = await call("GET", f"{edge.base_url}/v1/studios/%00/fees", **member)
    assert (sign_in.status, violations(sign_in)) == (400, {"email": "field.too_long"})
    assert (page_token.status, violations(page_token)) == (
        400,
        {"page_token": "field.invalid_encoding"},
    )
    assert (nul_segment.status, violations(nul_segment)) == (
        400,
        {"parent": "field.control_characters"},
    )
    assert (nul_fees.status, violations(nul_fees)) == (400, {"name": "field.control_characters"})


async def test_members_learn_they_may_not_before_what_is_wrong_with_their_request(
    edge: Edge, fuzzing: Fuzzing
) -> None:
    """AIP-211: a member granting a role with a bad body is refused the role, not the body."""
    member = fuzzing.callers["member"]
    auth = {"authorization": f"Bearer {member.access_token}"}
    bad = {"grant": {"role": "x" * 500, "studio": "nowhere"}}
    refused = await call(
        "POST", f"{edge.base_url}/v1/users/{member.user_id}:grantRole", bad, **auth
    )
    assert refused.status == 403, refused.body

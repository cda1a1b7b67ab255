"""Requests are read and held to their contract's limits by the real server, before a handler
runs, whatever bytes the client sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from google.protobuf import timestamp_pb2

import grpc
from stride.platform.grpc.server import RunningServer
from stride.platform.grpc.status import rich_status, unpack_details
from stride.platform.probe.v1 import probe_service_pb2 as pb
from stride.platform.testing.probe_service import (
    SERVICE,
    AnsweringProbe,
    access_token,
    bearer,
    start_probe,
)


@pytest_asyncio.fixture(scope="module")
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    running: RunningServer = await start_probe(AnsweringProbe())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as opened:
        yield opened
    await running.stop()


async def send(channel: grpc.aio.Channel, method: str, body: bytes, **metadata: Any) -> Any:
    """Sends `body` as it is: what a client of any language (or a proxy) could put on the wire."""
    call = channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=bytes,
        response_deserializer=pb.EchoResponse.FromString,
    )
    return await call(body, metadata=list(metadata.items()))


async def refusal(channel: grpc.aio.Channel, method: str, body: bytes, **metadata: Any) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await send(channel, method, body, **metadata)
    return raised.value


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rich_status(error)
    assert status is not None, error
    found = unpack_details(status)["BadRequest"].field_violations  # type: ignore[attr-defined]
    return {violation.field: violation.reason for violation in found}


def field(number: int, payload: bytes) -> bytes:
    """One length-delimited field on the wire (tag, length, payload)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


OVER_LIMIT = {
    "a string longer than its bound": (pb.EchoRequest(note="x" * 11), {"note": "field.too_long"}),
    "a string longer than the default": (
        pb.EchoRequest(text="ي" * 257),
        {"text": "field.too_long"},
    ),
    "a NUL byte": (pb.EchoRequest(note="a\x00b"), {"note": "field.control_characters"}),
    "too many list items": (pb.EchoRequest(tags=["a", "b", "c"]), {"tags": "field.too_many"}),
    "a long list item": (pb.EchoRequest(tags=["y" * 300]), {"tags[0]": "field.too_long"}),
    "too many map entries": (
        pb.EchoRequest(labels={"a": "1", "b": "2", "c": "3"}),
        {"labels": "field.too_many"},
    ),
    "a number above its range": (pb.EchoRequest(count=6), {"count": "field.out_of_range"}),
    "a number below its range": (pb.EchoRequest(count=-1), {"count": "field.out_of_range"}),
    "a measurement above its range": (pb.EchoRequest(ratio=1.5), {"ratio": "field.out_of_range"}),
    "a measurement that is not a number": (
        pb.EchoRequest(ratio=float("nan")),
        {"ratio": "field.not_finite"},
    ),
    "an infinite measurement": (pb.EchoRequest(ratio=float("-inf")), {"ratio": "field.not_finite"}),
    "an enum value the contract lacks": (
        pb.EchoRequest(level=pb.EchoRequest.Level.ValueType(7)),
        {"level": "field.unknown_value"},
    ),
    "a time no calendar holds": (
        pb.EchoRequest(at=timestamp_pb2.Timestamp(seconds=10**12)),
        {"at": "field.invalid_time"},
    ),
    "a time past 2200": (
        pb.EchoRequest(at=timestamp_pb2.Timestamp(seconds=7258118401)),
        {"at": "field.invalid_time"},
    ),
    "a time before 1970": (
        pb.EchoRequest(at=timestamp_pb2.Timestamp(seconds=-1)),
        {"at": "field.invalid_time"},
    ),
    "a list item's field beyond its bound": (
        pb.EchoRequest(items=[pb.EchoRequest.Item(), pb.EchoRequest.Item(label="x" * 5)]),
        {"items[1].label": "field.too_long"},
    ),
    "a list item's optional field set outside its range": (
        pb.EchoRequest(items=[pb.EchoRequest.Item(label="a"), pb.EchoRequest.Item(rank=0)]),
        {"items[1].rank": "field.out_of_range"},
    ),
    "a list item's time before 1970": (
        pb.EchoRequest(items=[pb.EchoRequest.Item(at=timestamp_pb2.Timestamp(seconds=-5))]),
        {"items[0].at": "field.invalid_time"},
    ),
    "too many list items of a message": (
        pb.EchoRequest(items=[pb.EchoRequest.Item()] * 4),
        {"items": "field.too_many"},
    ),
    "several at once": (
        pb.EchoRequest(note="x" * 11, count=9),
        {"note": "field.too_long", "count": "field.out_of_range"},
    ),
}


@pytest.mark.parametrize(("request_", "expected"), OVER_LIMIT.values(), ids=OVER_LIMIT.keys())
async def test_requests_beyond_their_limits_are_invalid_arguments_naming_the_field(
    channel: grpc.aio.Channel, request_: pb.EchoRequest, expected: dict[str, str]
) -> None:
    error = await refusal(channel, "Echo", request_.SerializeToString())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == expected


async def test_requests_within_their_limits_reach_the_handler(channel: grpc.aio.Channel) -> None:
    within = pb.EchoRequest(
        note="x" * 10,
        tags=["a", "b"],
        count=5,
        ratio=0.75,
        level=pb.EchoRequest.LEVEL_HIGH,
        labels={"a": "1", "b": "2"},
        text="نص عربي\nwith lines\tand tabs" + "z" * 200,
        at=timestamp_pb2.Timestamp(seconds=7258118400),  # 2200-01-01, the last time accepted.
        # The first item's rank is unset (read as 0, outside its range): still within limits.
        items=[pb.EchoRequest.Item(label="abcd"), pb.EchoRequest.Item(rank=9)],
    )
    assert (await send(channel, "Echo", within.SerializeToString())).language_code == "en"


UNPARSEABLE = {
    "invalid UTF-8 in a string": (field(2, b"\xff\xfe"), "note", "field.invalid_encoding"),
    "invalid UTF-8 in a list item": (
        field(3, b"ok") + field(3, b"\xc3("),
        "tags[1]",
        "field.invalid_encoding",
    ),
    "invalid UTF-8 in a map key": (
        field(7, field(1, b"\xff") + field(2, b"v")),
        "labels[0].key",
        "field.invalid_encoding",
    ),
    "a truncated field": (bytes([2 << 3 | 2, 40]) + b"short", "request", "request.malformed"),
    "an impossible wire type": (bytes([1 << 3 | 7]), "request", "request.malformed"),
}


@pytest.mark.parametrize(("body", "path", "reason"), UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
async def test_unparseable_requests_are_invalid_arguments_without_internals(
    channel: grpc.aio.Channel, body: bytes, path: str, reason: str
) -> None:
    error = await refusal(channel, "Echo", body, **{"x-stride-locale": "ar"})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {path: reason}
    assert "Error" not in (error.details() or "")  # No Python exception text reaches clients.


async def test_an_unparseable_request_to_a_protected_method_is_refused_before_it_is_read(
    channel: grpc.aio.Channel,
) -> None:
    """Without a token the answer is 401 whatever the body: nothing is parsed for strangers."""
    error = await refusal(channel, "GetOwned", field(1, b"\xff"))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    member = dict(bearer(access_token("u1")))
    error = await refusal(channel, "GetOwned", field(1, b"\xff"), **member)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"name": "field.invalid_encoding"}

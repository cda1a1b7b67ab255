"""AIP-158 pagination: page sizes, opaque page tokens, and whether another page exists.

A page token is URL-safe base64 of a version byte, the offset of the next page and a checksum
of the two with the request it continues — the list request's type and every field of it but
`page_size` and `page_token` (filters, parent, ordering). A token replayed with other filters,
handed to another list or damaged in any byte is refused as INVALID_ARGUMENT on `page_token`
instead of quietly returning some other page. Nothing in a token is secret or grants anything:
the request it continues is authorized afresh on every page, so the checksum needs no key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import Message

from stride.platform.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
PAGE_FIELDS = ("page_size", "page_token")

_VERSION = 1
_HEADER = struct.Struct(">BI")  # Version, offset of the next page.
_CHECKSUM_BYTES = 16  # With the 5-byte header, 21 bytes: 28 base64 characters, no padding.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{28}$")

Item = TypeVar("Item")


def _checksum(header: bytes, request: bytes) -> bytes:
    return hashlib.sha256(b"stride.page_token\x00" + header + request).digest()[:_CHECKSUM_BYTES]


def _request_digest(request: Message) -> bytes:
    """What makes two list requests the same list: the request type and every field but the
    paging ones, serialized deterministically."""
    fields = request.DESCRIPTOR.fields_by_name
    missing = [name for name in PAGE_FIELDS if name not in fields]
    if missing:
        raise TypeError(f"{request.DESCRIPTOR.full_name} is not a list request: no {missing}")
    unpaged = type(request)()
    unpaged.CopyFrom(request)
    for name in PAGE_FIELDS:
        unpaged.ClearField(name)
    return hashlib.sha256(
        request.DESCRIPTOR.full_name.encode()
        + b"\x00"
        + unpaged.SerializeToString(deterministic=True)
    ).digest()


@dataclass(frozen=True)
class Page:
    offset: int
    size: int
    request: bytes  # Digest of the list request the page belongs to; tokens check it.

    @classmethod
    def of(cls, request: Message) -> Page:
        """The page a list request asks for: its size (0 means the default; larger than the
        maximum is capped, negative refused) and where its token says it starts."""
        digest = _request_digest(request)  # Also checks that it is a list request.
        paging = {field.name: value for field, value in request.ListFields()}
        page_size, page_token = paging.get("page_size", 0), paging.get("page_token", "")
        if page_size < 0:
            raise InvalidArgument([FieldViolation("page_size", "field.invalid_format")])
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        if not page_token:
            return cls(0, size, digest)
        if not _TOKEN.match(page_token):
            raise InvalidArgument([FieldViolation("page_token", "page.invalid_token")])
        raw = base64.urlsafe_b64decode(page_token)
        header, checksum = raw[: _HEADER.size], raw[_HEADER.size :]
        version, offset = _HEADER.unpack(header)
        if version != _VERSION or checksum != _checksum(header, digest):
            raise InvalidArgument([FieldViolation("page_token", "page.invalid_token")])
        return cls(offset, size, digest)

    @property
    def fetch_limit(self) -> int:
        """One more than the page: the extra item says whether another page exists."""
        return self.size + 1

    @property
    def next_token(self) -> str:
        """The token of the page after this one."""
        header = _HEADER.pack(_VERSION, self.offset + self.size)
        raw = header + _checksum(header, self.request)
        return base64.urlsafe_b64encode(raw).decode()

    def cut(self, fetched: Sequence[Item]) -> tuple[list[Item], str]:
        """The page's items and the token of the next page ("" on the last one)."""
        more = len(fetched) > self.size
        return list(fetched[: self.size]), self.next_token if more else ""

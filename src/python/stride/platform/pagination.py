"""AIP-158 pagination: page sizes, opaque page tokens, and whether another page exists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from stride.platform.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page:
    offset: int
    size: int

    @classmethod
    def from_request(cls, page_size: int, page_token: str) -> Page:
        """Page size 0 means the default; larger than the maximum is capped, negative refused."""
        if page_size < 0:
            raise InvalidArgument([FieldViolation("page_size", "field.invalid_format")])
        offset = 0
        if page_token:
            if not page_token.isdigit():
                raise InvalidArgument([FieldViolation("page_token", "page.invalid_token")])
            offset = int(page_token)
        return cls(offset, min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))

    @property
    def fetch_limit(self) -> int:
        """One more than the page: the extra item says whether another page exists."""
        return self.size + 1

    def cut(self, fetched: Sequence[Item]) -> tuple[list[Item], str]:
        """The page's items and the token of the next page ("" on the last one)."""
        more = len(fetched) > self.size
        return list(fetched[: self.size]), str(self.offset + self.size) if more else ""

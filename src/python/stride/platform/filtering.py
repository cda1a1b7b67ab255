"""AIP-160 list filters: the small part of the language Stride's list RPCs accept, read once here.

A filter is comparisons joined by `AND`, e.g. `start_time >= "2027-03-01T06:00:00Z" AND
free_spots > 0`. Each compares a field the RPC declares (snake_case, or the lowerCamel of JSON)
with one of `=`, `!=`, `<`, `<=`, `>`, `>=` and a value: text, an enum value's name or an
RFC 3339 time with its offset, bare or double-quoted (`\\"` and `\\\\` escape inside quotes); a
whole number or `true`/`false`, bare. Strings, enums and booleans compare for (in)equality,
numbers and times in order too; a field may be compared for equality once. Anything else is
INVALID_ARGUMENT on `filter` saying what is wrong and where. No storage or transport here: what
a filter means for a table is the repository's business (`Operator.compare` builds column
expressions too).
"""

from __future__ import annotations

import enum
import operator
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stride.platform.errors import FieldViolation, InvalidArgument

FILTER_FIELD = "filter"
INT32_RANGE = (-(2**31), 2**31 - 1)


class Operator(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    LESS = "<"
    LESS_OR_EQUAL = "<="
    GREATER = ">"
    GREATER_OR_EQUAL = ">="

    def compare(self, left: Any, right: Any) -> Any:
        """`left <operator> right`: a bool for values, an expression for SQL columns."""
        return _OPERATIONS[self](left, right)


_OPERATIONS: Mapping[Operator, Callable[[Any, Any], Any]] = {
    Operator.EQUAL: operator.eq,
    Operator.NOT_EQUAL: operator.ne,
    Operator.LESS: operator.lt,
    Operator.LESS_OR_EQUAL: operator.le,
    Operator.GREATER: operator.gt,
    Operator.GREATER_OR_EQUAL: operator.ge,
}
EQUALITY = frozenset({Operator.EQUAL, Operator.NOT_EQUAL})
ORDERING = frozenset(Operator)


class Kind(enum.Enum):
    STRING = "string"
    INTEGER = "integer"  # Within int32: what the contracts' counts hold.
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    ENUM = "enum"


# What a filter's literals become; a service may turn a resource name into its id (a UUID).
Value = str | int | bool | datetime | uuid.UUID


@dataclass(frozen=True)
class FilterField:
    """A field a list RPC filters on: what its values are and how they may be compared."""

    kind: Kind
    operators: frozenset[Operator]
    choices: tuple[str, ...] = ()  # An enum's value names.

    @classmethod
    def string(cls) -> FilterField:
        return cls(Kind.STRING, EQUALITY)

    @classmethod
    def integer(cls) -> FilterField:
        return cls(Kind.INTEGER, ORDERING)

    @classmethod
    def boolean(cls) -> FilterField:
        return cls(Kind.BOOLEAN, EQUALITY)

    @classmethod
    def timestamp(cls) -> FilterField:
        return cls(Kind.TIMESTAMP, ORDERING)

    @classmethod
    def enum(cls, choices: Iterable[str], operators: Iterable[Operator] = EQUALITY) -> FilterField:
        return cls(Kind.ENUM, frozenset(operators), tuple(choices))


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: Operator
    value: Value  # Timestamps in UTC; enum values by name.


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string" or "operator".
    text: str
    position: int  # 1-based, for the error message.


_TOKENS = re.compile(
    r"""\s*(?:
        (?P<operator>!=|<=|>=|=|<|>)
      | "(?P<string>(?:[^"\\]|\\.)*)"
      | (?P<word>[^\s"()=<>!]+)
    )""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_FIELD_NAME = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _syntax_error(position: int) -> InvalidArgument:
    return InvalidArgument([FieldViolation(FILTER_FIELD, "filter.syntax", {"position": position})])


def _tokens(text: str) -> Iterator[_Token]:
    position = 0
    while text[position:].strip():
        found = _TOKENS.match(text, position)
        if found is None:
            start = len(text[position:]) - len(text[position:].lstrip())
            raise _syntax_error(position + start + 1)
        kind = str(found.lastgroup)
        value = found.group(kind)
        if kind == "string":
            value = _ESCAPE.sub(r"\1", value)
        yield _Token(kind, value, found.start(kind) + 1 - (kind == "string"))
        position = found.end()


class FilterSchema:
    """The fields one list RPC filters on, by name, and the reading of its `filter`."""

    def __init__(self, fields: Mapping[str, FilterField]) -> None:
        self.fields = dict(fields)

    def parse(self, text: str) -> tuple[Comparison, ...]:
        """The comparisons a filter makes, all of which must hold; none for an empty filter."""
        tokens = list(_tokens(text))
        comparisons: list[Comparison] = []
        index = 0
        while index < len(tokens):
            if comparisons:
                joiner = tokens[index]
                if (joiner.kind, joiner.text) != ("word", "AND"):
                    raise _syntax_error(joiner.position)
                index += 1
            if index + 3 > len(tokens):
                raise _syntax_error(len(text.rstrip()) + 1)
            name, symbol, literal = tokens[index : index + 3]
            comparisons.append(self._comparison(name, symbol, literal))
            index += 3
        self._check_equalities(comparisons)
        return tuple(comparisons)

    def _comparison(self, name: _Token, symbol: _Token, literal: _Token) -> Comparison:
        if name.kind != "word" or not _FIELD_NAME.match(name.text):
            raise _syntax_error(name.position)
        if symbol.kind != "operator":
            raise _syntax_error(symbol.position)
        if literal.kind == "operator":
            raise _syntax_error(literal.position)
        field = _CAMEL.sub(lambda upper: "_" + upper.group(1).lower(), name.text)
        declared = self.fields.get(field)
        if declared is None:
            raise InvalidArgument(
                [
                    FieldViolation(
                        FILTER_FIELD,
                        "filter.unknown_field",
                        {"field": name.text, "fields": ", ".join(sorted(self.fields))},
                    )
                ]
            )
        found = Operator(symbol.text)
        if found not in declared.operators:
            allowed = " ".join(o.value for o in Operator if o in declared.operators)
            raise InvalidArgument(
                [
                    FieldViolation(
                        FILTER_FIELD,
                        "filter.operator",
                        {"field": field, "operator": found.value, "operators": allowed},
                    )
                ]
            )
        return Comparison(field, found, _value(field, declared, literal))

    @staticmethod
    def _check_equalities(comparisons: list[Comparison]) -> None:
        """`state = A AND state = B` matches nothing or repeats itself: an OR was meant."""
        seen: set[str] = set()
        for comparison in comparisons:
            if comparison.operator is Operator.EQUAL:
                if comparison.field in seen:
                    raise InvalidArgument(
                        [
                            FieldViolation(
                                FILTER_FIELD, "filter.repeated_field", {"field": comparison.field}
                            )
                        ]
                    )
                seen.add(comparison.field)


def _value(field: str, declared: FilterField, literal: _Token) -> Value:
    text, bare = literal.text, literal.kind == "word"
    kind = declared.kind
    if kind is Kind.STRING:
        return text
    if kind is Kind.INTEGER and bare and _INTEGER.match(text):
        number = int(text)
        if INT32_RANGE[0] <= number <= INT32_RANGE[1]:
            return number
    elif kind is Kind.BOOLEAN and bare and text in ("true", "false"):
        return text == "true"
    elif kind is Kind.ENUM and text in declared.choices:
        return text
    elif kind is Kind.TIMESTAMP:
        moment = _timestamp(text)
        if moment is not None:
            return moment
    params: dict[str, object] = {"field": field, "value": text}
    if kind is Kind.ENUM:
        params["choices"] = ", ".join(declared.choices)
    raise InvalidArgument([FieldViolation(FILTER_FIELD, f"filter.expected_{kind.value}", params)])


def _timestamp(text: str) -> datetime | None:
    """RFC 3339: a date, `T`, a time and an offset (`Z` or ±hh:mm)."""
    if "T" not in text.upper():
        return None
    try:
        moment = datetime.fromisoformat(text)
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):  # Not a time, or one an offset takes past year 1 or 9999.
        return None

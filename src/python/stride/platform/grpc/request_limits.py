"""Reading a request: bytes to message, then the limits its contract sets, before any handler.

Every request a service receives is parsed here rather than by gRPC's deserializer, so a body
that is not a valid message (invalid UTF-8 in a string, from a `%ff` path segment that Envoy
passes through) is INVALID_ARGUMENT naming the field, not an UNKNOWN error carrying Python's
exception text. A parsed request is then held to `stride.api.v1.bounds` (and the defaults
below) field by field: string and byte lengths, list and map sizes, declared numeric ranges,
enum values the contract defines, timestamps between 1970 and 2200, and no control characters
in text (a NUL byte reaches no database driver).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from stride.api.v1 import bounds_pb2
from stride.platform.errors import FieldViolation, InvalidArgument

DEFAULT_MAX_STRING = 256
DEFAULT_MAX_BYTES = 1024 * 1024  # The edge refuses larger bodies anyway.
DEFAULT_MAX_ITEMS = 100
# C0 controls other than tab, line feed and carriage return, and DEL: never text a person wrote.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z: no studio schedules, pays or remembers
# anything outside it, and the date arithmetic done on any time a request carries (a class's
# end, a pause's length, a zone's offset) stays far inside what a datetime can hold.
_MIN_SECONDS, _MAX_SECONDS = 0, 7258118400
_TIME_TYPES = ("google.protobuf.Timestamp",)
_DURATION_TYPES = ("google.protobuf.Duration",)
_MAX_DURATION_SECONDS = 315576000000  # As google/protobuf/duration.proto defines.

_FLOAT_TYPES = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def field_bounds(field: FieldDescriptor) -> bounds_pb2.Bounds:
    options = field.GetOptions()
    if options.HasExtension(bounds_pb2.bounds):
        return options.Extensions[bounds_pb2.bounds]
    return bounds_pb2.Bounds()


def max_length(field: FieldDescriptor) -> int:
    declared = field_bounds(field).max_length
    if declared:
        return declared
    return DEFAULT_MAX_BYTES if field.type == FieldDescriptor.TYPE_BYTES else DEFAULT_MAX_STRING


def max_items(field: FieldDescriptor) -> int:
    return field_bounds(field).max_items or DEFAULT_MAX_ITEMS


def is_map(field: FieldDescriptor) -> bool:
    return bool(field.message_type is not None and field.message_type.GetOptions().map_entry)


# A value's fault against one rule: the violation's message key and details, or None.
Fault = Callable[[Any], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class _FieldRule:
    name: str
    value: Fault | None  # For a single value, each list item or each map value.
    nested: _MessageLimits | None  # A message's own limits (for the value, items or map values).
    most: int | None = None  # Lists and maps: the most entries.
    key: Fault | None = None  # Maps only: their keys'.


@dataclass
class _MessageLimits:
    rules: dict[int, _FieldRule] = field(default_factory=dict)
    # For a message of single scalar fields only (a list's items, typically): each bounded
    # field's getter and rule, to check a list of them field by field rather than item by item.
    flat: tuple[tuple[Callable[[Any], Any], Fault], ...] | None = None


class RequestLimits:
    """Parses and checks requests of one message type; checks are compiled once per type.

    A request is first checked without naming anything (most are within every limit, and a
    batch of thousands of items should not cost a path string per field); only one that is not
    is walked again to name each violation."""

    def __init__(self, message_class: type[Message]) -> None:
        self._class = message_class
        self._descriptor = cast(Descriptor, message_class.DESCRIPTOR)
        self._compiled: dict[str, _MessageLimits] = {}
        self._root = self._compile(self._descriptor)

    def parse(self, raw: bytes) -> Message:
        try:
            return self._class.FromString(raw)
        except DecodeError:
            raise InvalidArgument([_undecodable_field(self._descriptor, raw)]) from None

    def check(self, message: Message) -> None:
        if _fits(message, self._root):
            return
        violations: list[FieldViolation] = []
        _report(message, self._root, "", violations)
        if violations:
            raise InvalidArgument(violations)

    def _compile(self, message: Descriptor) -> _MessageLimits:
        existing = self._compiled.get(message.full_name)
        if existing is not None:
            return existing
        limits = self._compiled[message.full_name] = _MessageLimits()
        for descriptor in message.fields:
            limits.rules[descriptor.number] = self._field_rule(descriptor)
        rules = limits.rules.values()
        if all(rule.most is None and rule.nested is None for rule in rules):
            limits.flat = tuple(
                (attrgetter(rule.name), rule.value) for rule in rules if rule.value is not None
            )
        return limits

    def _field_rule(self, descriptor: FieldDescriptor) -> _FieldRule:
        if is_map(descriptor):
            entry = descriptor.message_type
            assert entry is not None  # noqa: S101 - is_map checked it.
            value, nested = self._value_rule(entry.fields_by_name["value"])
            key, _ = self._value_rule(entry.fields_by_name["key"])
            return _FieldRule(descriptor.name, value, nested, max_items(descriptor), key)
        value, nested = self._value_rule(descriptor)
        most = max_items(descriptor) if descriptor.is_repeated else None
        return _FieldRule(descriptor.name, value, nested, most)

    def _value_rule(
        self, descriptor: FieldDescriptor
    ) -> tuple[Fault | None, _MessageLimits | None]:
        kind = descriptor.type
        if kind == FieldDescriptor.TYPE_MESSAGE:
            return self._message_rule(descriptor)
        if kind == FieldDescriptor.TYPE_ENUM:
            assert descriptor.enum_type is not None  # noqa: S101 - an enum field has its type.
            return _enum_fault(frozenset(descriptor.enum_type.values_by_number)), None
        if kind in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
            text = kind == FieldDescriptor.TYPE_STRING
            return (_string_fault if text else _bytes_fault)(max_length(descriptor)), None
        if kind in _INTEGER_TYPES:
            return _range_fault(field_bounds(descriptor)), None
        if kind in _FLOAT_TYPES:
            return _float_fault(field_bounds(descriptor)), None
        return None, None  # Booleans: nothing to bound.

    def _message_rule(
        self, descriptor: FieldDescriptor
    ) -> tuple[Fault | None, _MessageLimits | None]:
        nested = descriptor.message_type
        assert nested is not None  # noqa: S101 - a message field has its type.
        if nested.full_name in _TIME_TYPES:
            return _seconds_fault(_MIN_SECONDS, _MAX_SECONDS), None
        if nested.full_name in _DURATION_TYPES:
            return _seconds_fault(-_MAX_DURATION_SECONDS, _MAX_DURATION_SECONDS), None
        return None, self._compile(nested)


def _fits(message: Message, limits: _MessageLimits) -> bool:
    """Whether every field set in `message` is within its rule (nothing named: the fast path).
    It may answer no for a request that fits (a flat message's unset optional field is read as
    its default, which its rule may refuse); the reporting walk that follows has the last word."""
    rules = limits.rules
    for descriptor, value in message.ListFields():
        rule = rules[descriptor.number]
        if rule.most is None:
            values: Any = (value,)
        elif len(value) > rule.most:
            return False
        elif rule.key is not None:
            if any(rule.key(key) is not None for key in value):
                return False
            values = value.values()
        else:
            values = value
        if not _all_fit(rule, values):
            return False
    return True


def _all_fit(rule: _FieldRule, values: Any) -> bool:
    fault, nested = rule.value, rule.nested
    if fault is not None:
        return all(fault(one) is None for one in values)
    if nested is None:
        return True
    if nested.flat is None:
        return all(_fits(one, nested) for one in values)
    return all(
        flat_fault(one) is None for getter, flat_fault in nested.flat for one in map(getter, values)
    )


def _report(
    message: Message, limits: _MessageLimits, prefix: str, out: list[FieldViolation]
) -> None:
    """Every violation in `message`, each naming its field's path."""
    for descriptor, value in message.ListFields():
        rule = limits.rules[descriptor.number]
        path = f"{prefix}{rule.name}"
        if rule.most is None:
            _report_value(rule, value, path, out)
        elif len(value) > rule.most:
            out.append(FieldViolation(path, "field.too_many", {"max": rule.most}))
        elif rule.key is not None:
            for key in value:
                _report_fault(rule.key, key, f"{path}[{key!r}]", out)
                _report_value(rule, value[key], f"{path}[{key!r}]", out)
        else:
            for index, item in enumerate(value):
                _report_value(rule, item, f"{path}[{index}]", out)


def _report_value(rule: _FieldRule, value: Any, path: str, out: list[FieldViolation]) -> None:
    if rule.value is not None:
        _report_fault(rule.value, value, path, out)
    elif rule.nested is not None:
        _report(value, rule.nested, f"{path}.", out)


def _report_fault(fault: Fault, value: Any, path: str, out: list[FieldViolation]) -> None:
    found = fault(value)
    if found is not None:
        out.append(FieldViolation(path, *found))


def _string_fault(most: int) -> Fault:
    def fault(value: str) -> tuple[str, dict[str, Any]] | None:
        if len(value) > most:
            return "field.too_long", {"max": most}
        if _CONTROL.search(value):
            return "field.control_characters", {}
        return None

    return fault


def _bytes_fault(most: int) -> Fault:
    def fault(value: bytes) -> tuple[str, dict[str, Any]] | None:
        return ("field.too_large", {"max": most}) if len(value) > most else None

    return fault


def _enum_fault(known: frozenset[int]) -> Fault:
    def fault(value: int) -> tuple[str, dict[str, Any]] | None:
        return None if value in known else ("field.unknown_value", {})

    return fault


def _range_fault(bounds: bounds_pb2.Bounds) -> Fault | None:
    """Numbers declare both ends of their range (the contract test holds every one to it)."""
    if not (bounds.HasField("minimum") and bounds.HasField("maximum")):
        return None
    least, most = bounds.minimum, bounds.maximum

    def fault(value: int) -> tuple[str, dict[str, Any]] | None:
        if least <= value <= most:
            return None
        return "field.out_of_range", {"min": least, "max": most}

    return fault


def _float_fault(bounds: bounds_pb2.Bounds) -> Fault:
    """A measurement: finite (JSON's "NaN" and "Infinity" parse, and would poison every sum they
    enter) and inside its declared range."""
    declared = bounds.HasField("minimum") and bounds.HasField("maximum")
    least, most = (bounds.minimum, bounds.maximum) if declared else (-math.inf, math.inf)

    def fault(value: float) -> tuple[str, dict[str, Any]] | None:
        if not math.isfinite(value):
            return "field.not_finite", {}
        if least <= value <= most:
            return None
        return "field.out_of_range", {"min": least, "max": most}

    return fault


def _seconds_fault(least: int, most: int) -> Fault:
    def fault(value: Any) -> tuple[str, dict[str, Any]] | None:
        if least <= value.seconds <= most and abs(value.nanos) <= 999_999_999:
            return None
        return "field.invalid_time", {}

    return fault


# Reading the wire format, only to say which field made a request unparseable.
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


class _Malformed(Exception):
    def __init__(self, path: str, message_key: str) -> None:
        super().__init__(path)
        self.path, self.message_key = path, message_key


def _undecodable_field(message: Descriptor, raw: bytes) -> FieldViolation:
    """The first field that keeps `raw` from parsing as `message`: a string that is not
    UTF-8, or bytes that are not a protobuf message at all."""
    try:
        _walk(message, memoryview(raw), "")
    except _Malformed as found:
        return FieldViolation(found.path or "request", found.message_key)
    return FieldViolation("request", "request.malformed")


def _walk(message: Descriptor, data: memoryview, prefix: str) -> None:
    counts: dict[int, int] = {}
    for number, wire_type, payload in _fields(data, prefix):
        descriptor = message.fields_by_number.get(number)
        if descriptor is None or wire_type != _LENGTH_DELIMITED:
            continue
        path = f"{prefix}{descriptor.name}"
        if descriptor.is_repeated:
            index = counts.get(number, 0)
            counts[number] = index + 1
            path = f"{path}[{index}]"
        if descriptor.type == FieldDescriptor.TYPE_STRING:
            try:
                bytes(payload).decode("utf-8")
            except UnicodeDecodeError:
                raise _Malformed(path, "field.invalid_encoding") from None
        elif descriptor.type == FieldDescriptor.TYPE_MESSAGE and descriptor.message_type:
            _walk(descriptor.message_type, payload, f"{path}.")


def _fields(data: memoryview, prefix: str) -> Iterator[tuple[int, int, memoryview]]:
    position = 0
    while position < len(data):
        key, position = _varint(data, position, prefix)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            _, position = _varint(data, position, prefix)
            payload = data[0:0]
        elif wire_type == _FIXED64:
            payload, position = data[position : position + 8], position + 8
        elif wire_type == _FIXED32:
            payload, position = data[position : position + 4], position + 4
        elif wire_type == _LENGTH_DELIMITED:
            length, position = _varint(data, position, prefix)
            payload, position = data[position : position + length], position + length
        else:
            raise _Malformed(prefix.rstrip("."), "request.malformed")
        if position > len(data):
            raise _Malformed(prefix.rstrip("."), "request.malformed")
        yield number, wire_type, payload


def _varint(data: memoryview, position: int, prefix: str) -> tuple[int, int]:
    value, shift = 0, 0
    while position < len(data) and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    raise _Malformed(prefix.rstrip("."), "request.malformed")

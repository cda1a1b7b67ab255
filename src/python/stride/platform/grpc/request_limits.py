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


Check = Callable[[Any, str, list[FieldViolation]], None]


@dataclass
class _MessageLimits:
    checks: dict[int, tuple[FieldDescriptor, Check]] = field(default_factory=dict)


class RequestLimits:
    """Parses and checks requests of one message type; checks are compiled once per type."""

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
        violations: list[FieldViolation] = []
        self._check_message(message, self._root, "", violations)
        if violations:
            raise InvalidArgument(violations)

    def _check_message(
        self, message: Message, limits: _MessageLimits, prefix: str, out: list[FieldViolation]
    ) -> None:
        for descriptor, value in message.ListFields():
            compiled = limits.checks.get(descriptor.number)
            if compiled is not None:
                compiled[1](value, f"{prefix}{descriptor.name}", out)

    def _compile(self, message: Descriptor) -> _MessageLimits:
        existing = self._compiled.get(message.full_name)
        if existing is not None:
            return existing
        limits = self._compiled[message.full_name] = _MessageLimits()
        for descriptor in message.fields:
            limits.checks[descriptor.number] = (descriptor, self._field_check(descriptor))
        return limits

    def _field_check(self, descriptor: FieldDescriptor) -> Check:
        if is_map(descriptor):
            entry = descriptor.message_type
            assert entry is not None  # noqa: S101 - is_map checked it.
            key_check = self._single_check(entry.fields_by_name["key"])
            value_check = self._single_check(entry.fields_by_name["value"])
            most = max_items(descriptor)

            def check_map(value: Any, path: str, out: list[FieldViolation]) -> None:
                if len(value) > most:
                    out.append(FieldViolation(path, "field.too_many", {"max": most}))
                    return
                for key in value:
                    key_check(key, f"{path}[{key!r}]", out)
                    value_check(value[key], f"{path}[{key!r}]", out)

            return check_map
        single = self._single_check(descriptor)
        if not descriptor.is_repeated:
            return single
        most = max_items(descriptor)

        def check_list(value: Any, path: str, out: list[FieldViolation]) -> None:
            if len(value) > most:
                out.append(FieldViolation(path, "field.too_many", {"max": most}))
                return
            for index, item in enumerate(value):
                single(item, f"{path}[{index}]", out)

        return check_list

    def _single_check(self, descriptor: FieldDescriptor) -> Check:
        kind = descriptor.type
        if kind == FieldDescriptor.TYPE_MESSAGE:
            return self._message_check(descriptor)
        if kind == FieldDescriptor.TYPE_ENUM:
            assert descriptor.enum_type is not None  # noqa: S101 - an enum field has its type.
            return _enum_check(frozenset(descriptor.enum_type.values_by_number))
        if kind in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
            text = kind == FieldDescriptor.TYPE_STRING
            return (_string_check if text else _bytes_check)(max_length(descriptor))
        if kind in _INTEGER_TYPES:
            return _range_check(field_bounds(descriptor))
        if kind in _FLOAT_TYPES:
            return _float_check(field_bounds(descriptor))
        return _no_check  # Booleans: nothing to bound.

    def _message_check(self, descriptor: FieldDescriptor) -> Check:
        nested = descriptor.message_type
        assert nested is not None  # noqa: S101 - a message field has its type.
        if nested.full_name in _TIME_TYPES:
            return _seconds_check(_MIN_SECONDS, _MAX_SECONDS)
        if nested.full_name in _DURATION_TYPES:
            return _seconds_check(-_MAX_DURATION_SECONDS, _MAX_DURATION_SECONDS)
        limits = self._compile(nested)

        def check_nested(value: Any, path: str, out: list[FieldViolation]) -> None:
            self._check_message(value, limits, f"{path}.", out)

        return check_nested


def _no_check(value: Any, path: str, out: list[FieldViolation]) -> None:
    return None


def _string_check(most: int) -> Check:
    def check(value: str, path: str, out: list[FieldViolation]) -> None:
        if len(value) > most:
            out.append(FieldViolation(path, "field.too_long", {"max": most}))
        elif _CONTROL.search(value):
            out.append(FieldViolation(path, "field.control_characters"))

    return check


def _bytes_check(most: int) -> Check:
    def check(value: bytes, path: str, out: list[FieldViolation]) -> None:
        if len(value) > most:
            out.append(FieldViolation(path, "field.too_large", {"max": most}))

    return check


def _enum_check(known: frozenset[int]) -> Check:
    def check(value: int, path: str, out: list[FieldViolation]) -> None:
        if value not in known:
            out.append(FieldViolation(path, "field.unknown_value"))

    return check


def _range_check(bounds: bounds_pb2.Bounds) -> Check:
    """Numbers declare both ends of their range (the contract test holds every one to it)."""
    if not (bounds.HasField("minimum") and bounds.HasField("maximum")):
        return _no_check
    least, most = bounds.minimum, bounds.maximum

    def check(value: int, path: str, out: list[FieldViolation]) -> None:
        if not least <= value <= most:
            out.append(FieldViolation(path, "field.out_of_range", {"min": least, "max": most}))

    return check


def _float_check(bounds: bounds_pb2.Bounds) -> Check:
    """A measurement: finite (JSON's "NaN" and "Infinity" parse, and would poison every sum they
    enter) and inside its declared range."""
    declared = bounds.HasField("minimum") and bounds.HasField("maximum")

    def check(value: float, path: str, out: list[FieldViolation]) -> None:
        if not math.isfinite(value):
            out.append(FieldViolation(path, "field.not_finite"))
        elif declared and not bounds.minimum <= value <= bounds.maximum:
            details = {"min": bounds.minimum, "max": bounds.maximum}
            out.append(FieldViolation(path, "field.out_of_range", details))

    return check


def _seconds_check(least: int, most: int) -> Check:
    def check(value: Any, path: str, out: list[FieldViolation]) -> None:
        if not least <= value.seconds <= most or not 0 <= abs(value.nanos) <= 999_999_999:
            out.append(FieldViolation(path, "field.invalid_time"))

    return check


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

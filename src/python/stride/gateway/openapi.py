"""The REST contract as an OpenAPI 3.1 document, from the descriptors Envoy transcodes with.

Every RPC the edge routes becomes an operation: its path from `google.api.http` (a resource-name
variable such as `{name=users/*/bookings/*}` spelled out as one parameter per id, so a client
fills ids, never slashes), its query parameters and body as the transcoder maps them, schemas
from the messages in their proto3 JSON form (lowerCamelCase names, enums by name, 64-bit
integers as strings, timestamps as RFC 3339), the contract's bounds as `maxLength`, `maxItems`
and ranges, field behaviours as `required` (in request messages), `readOnly` and `writeOnly`,
`google.rpc.Status` as every error, and bearer authentication on all but public RPCs. The edge
serves the document at `GET /v1/openapi.json` (envoy_config.OPENAPI_PATH); `./pants package`
writes it, for mobile developers to generate their clients from.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from stride.gateway.catalog import SERVICES, ServiceEntry
from stride.platform.grpc.contract import AccessRule, Audience, MethodContract
from stride.platform.grpc.request_limits import (
    field_bounds,
    is_map,
    max_items,
    max_length,
)

HTTP_BODY = "google.api.HttpBody"
STATUS = "google.rpc.Status"
_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")
_INT32_RANGE = (-(2**31), 2**31 - 1)
_UINT32_RANGE = (0, 2**32 - 1)
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    # Proto3 JSON writes 64-bit integers as strings (JavaScript's numbers lose precision).
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
}
_INT32_TYPES = (
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SFIXED32,
)
_UINT32_TYPES = (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32)
_FLOAT_TYPES = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    # Comma-separated field paths, in lowerCamelCase (AIP-161).
    "google.protobuf.FieldMask": {"type": "string", "maxLength": 1024},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
    },
}
_AUDIENCE_TEXT = {
    Audience.PUBLIC: "Public: no access token.",
    Audience.SIGNED_IN: "Any signed-in user.",
    Audience.OWNER: "The owner of the resource named by `{field}`{roles}.",
    Audience.STAFF: "Staff holding {roles} in the studio{where}; admins everywhere.",
}


def _behaviors(field: FieldDescriptor) -> frozenset[int]:
    return frozenset(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def _singular(collection: str) -> str:
    """`bookings` → `booking`, `deliveries` → `delivery`: a path parameter's name."""
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection.removesuffix("s")


def _path_segments(pattern: str) -> Iterator[tuple[str, bool]]:
    """A variable's pattern, `users/*/bookings/*`, as (literal or parameter name, is a
    parameter) pairs: `users`, `user`, `bookings`, `booking`."""
    parts = pattern.split("/")
    for position, part in enumerate(parts):
        if part == "*":
            previous = parts[position - 1] if position else "id"
            yield _singular(previous), True
        elif part == "**":
            raise ValueError(f"`**` in {pattern!r}: a path parameter cannot hold slashes")
        else:
            yield part, False


class _Builder:
    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}

    # Schemas ------------------------------------------------------------------------------
    def ref(self, message: Descriptor) -> dict[str, Any]:
        known = _WELL_KNOWN.get(message.full_name)
        if known is not None:
            return dict(known)
        if message.full_name not in self.schemas:
            self.schemas[message.full_name] = {}  # Reserved first: messages may recurse.
            self.schemas[message.full_name] = self.message_schema(message)
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def message_schema(
        self, message: Descriptor, *, omit: frozenset[str] = frozenset(), request: bool = False
    ) -> dict[str, Any]:
        properties, required = {}, []
        for field in message.fields:
            if field.name in omit:
                continue
            properties[field.json_name] = self.field_schema(field)
            if request and field_behavior_pb2.REQUIRED in _behaviors(field):
                required.append(field.json_name)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            # The edge refuses fields the API does not have (request_schema).
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return schema

    def field_schema(self, field: FieldDescriptor) -> dict[str, Any]:
        if is_map(field):
            entry = field.message_type
            assert entry is not None  # noqa: S101 - a map field has its entry type.
            schema: dict[str, Any] = {
                "type": "object",
                "additionalProperties": self.single(entry.fields_by_name["value"]),
                "maxProperties": max_items(field),
            }
        elif field.is_repeated:
            schema = {"type": "array", "items": self.single(field), "maxItems": max_items(field)}
        else:
            schema = self.single(field)
        # OpenAPI 3.1 schemas are JSON Schema 2020-12: keywords may sit beside a `$ref`.
        behaviors = _behaviors(field)
        if field_behavior_pb2.OUTPUT_ONLY in behaviors:
            schema = {**schema, "readOnly": True}
        if field_behavior_pb2.INPUT_ONLY in behaviors:
            # Not `writeOnly`: responses print every primitive field, so it comes back empty.
            schema = {**schema, "description": "Input only: responses carry it empty."}
        return schema

    def single(self, field: FieldDescriptor) -> dict[str, Any]:
        """One value of the field (an item of a list, a value of a map)."""
        kind = field.type
        if kind == FieldDescriptor.TYPE_MESSAGE:
            assert field.message_type is not None  # noqa: S101 - a message field has its type.
            return self.ref(field.message_type)
        if kind == FieldDescriptor.TYPE_ENUM:
            assert field.enum_type is not None  # noqa: S101 - an enum field has its type.
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        if kind == FieldDescriptor.TYPE_STRING:
            return {"type": "string", "maxLength": max_length(field)}
        if kind == FieldDescriptor.TYPE_BYTES:
            # Base64 text of at most max_length bytes.
            encoded = -(-max_length(field) // 3) * 4
            return {"type": "string", "contentEncoding": "base64", "maxLength": encoded}
        if kind in _INT32_TYPES or kind in _UINT32_TYPES:
            least, most = _INT32_RANGE if kind in _INT32_TYPES else _UINT32_RANGE
            bounds = field_bounds(field)
            if bounds.HasField("minimum") and bounds.HasField("maximum"):
                least, most = bounds.minimum, bounds.maximum
            return {"type": "integer", "format": "int32", "minimum": least, "maximum": most}
        schema = dict(_SCALARS[kind])
        bounds = field_bounds(field)
        if kind in _FLOAT_TYPES and bounds.HasField("minimum") and bounds.HasField("maximum"):
            schema.update(minimum=bounds.minimum, maximum=bounds.maximum)
        return schema

    # Operations ---------------------------------------------------------------------------
    def operation(
        self, service: ServiceEntry, contract: MethodContract
    ) -> tuple[str, str, dict[str, Any]]:
        rule = contract.http_rule
        assert rule is not None  # noqa: S101 - only edge methods, which all have a rule.
        verb = rule.WhichOneof("pattern")
        if verb is None or verb == "custom":
            raise ValueError(f"{contract.path}: only GET/POST/PUT/PATCH/DELETE rules are mapped")
        path, path_fields, parameters = self.path(getattr(rule, verb))
        method = contract.descriptor
        request = method.input_type
        operation: dict[str, Any] = {
            "operationId": f"{method.containing_service.name}_{method.name}",
            "tags": [method.containing_service.name],
            "summary": _summary(method.name),
            "description": _access_text(contract.access),
            "x-stride-access": contract.access.audience.value,
            "parameters": parameters,
            "responses": self.responses(contract, service.event_stream_methods),
        }
        if contract.access.audience is Audience.PUBLIC:
            operation["security"] = []
        top_level_path_fields = frozenset(name.split(".")[0] for name in path_fields)
        if rule.body == "*":
            schema = self.message_schema(request, omit=_whole(path_fields), request=True)
            # No body reads as an empty message: required only when a field is.
            operation["requestBody"] = _json_body(schema, required="required" in schema)
            return verb, path, operation
        body_field = request.fields_by_name[rule.body] if rule.body else None
        if body_field is not None:
            operation["requestBody"] = self.body(body_field)
        skip = top_level_path_fields | {rule.body}
        operation["parameters"] += list(self.query(request, skip))
        return verb, path, operation

    def path(self, template: str) -> tuple[str, list[str], list[dict[str, Any]]]:
        """The OpenAPI path, the request fields it binds, and its parameters."""
        fields: list[str] = []
        parameters: list[dict[str, Any]] = []

        def spell_out(match: re.Match[str]) -> str:
            fields.append(match.group(1))
            pieces = []
            for piece, is_parameter in _path_segments(match.group(2) or "*"):
                if is_parameter:
                    parameters.append(
                        {
                            "name": piece,
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[^/]+$", "maxLength": 256},
                        }
                    )
                    pieces.append(f"{{{piece}}}")
                else:
                    pieces.append(piece)
            return "/".join(pieces)

        return _VARIABLE.sub(spell_out, template), fields, parameters

    def body(self, field: FieldDescriptor) -> dict[str, Any]:
        nested = field.message_type
        if nested is not None and nested.full_name == HTTP_BODY:
            # Raw bytes of any type: Stripe's JSON events, mail apps' one-click form posts.
            return {
                "required": True,
                "content": {
                    "application/json": {"schema": {}},
                    "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                },
            }
        required = field_behavior_pb2.REQUIRED in _behaviors(field)
        return _json_body(self.field_schema(field), required=required)

    def query(
        self, message: Descriptor, skip: frozenset[str] | set[str]
    ) -> Iterator[dict[str, Any]]:
        """Fields neither in the path nor in the body, as `?jsonName=` parameters (nested
        messages as `a.b`), as the transcoder reads them."""
        for field in message.fields:
            if field.name in skip or field_behavior_pb2.OUTPUT_ONLY in _behaviors(field):
                continue
            nested = field.message_type
            if nested is not None and nested.full_name not in _WELL_KNOWN and not is_map(field):
                for inner in self.query(nested, set()):
                    yield {**inner, "name": f"{field.json_name}.{inner['name']}"}
                continue
            schema = self.field_schema(field)
            parameter: dict[str, Any] = {"name": field.json_name, "in": "query", "schema": schema}
            if field.is_repeated:
                parameter |= {"style": "form", "explode": True}
            yield parameter

    def responses(
        self, contract: MethodContract, event_streams: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        output = contract.descriptor.output_type
        if output.full_name == HTTP_BODY:
            ok: dict[str, Any] = {
                "description": "The document itself, of the media type it says.",
                "content": {"*/*": {"schema": {}}},
            }
        else:
            schema = self.ref(output)
            media_type = "application/json"
            if contract.path in event_streams:
                # Server-Sent Events: each message one event, its JSON on a `data:` line.
                media_type = "text/event-stream"
            elif contract.descriptor.server_streaming:
                # The transcoder streams the messages as one JSON array, each as it comes.
                schema = {"type": "array", "items": schema}
            ok = {"description": "OK", "content": {media_type: {"schema": schema}}}
        return {
            "200": ok,
            "default": {
                "description": "An error: a `google.rpc.Status` with ErrorInfo, a "
                "LocalizedMessage in the caller's language and, for bad input, BadRequest.",
                "content": {"application/json": {"schema": self.status()}},
            },
        }

    def status(self) -> dict[str, Any]:
        if STATUS not in self.schemas:
            self.schemas[STATUS] = {
                "type": "object",
                "properties": {
                    "code": {"type": "integer", "format": "int32"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": _WELL_KNOWN["google.protobuf.Any"]},
                },
                "required": ["code", "message"],
            }
        return {"$ref": f"#/components/schemas/{STATUS}"}


def _whole(paths: Sequence[str]) -> frozenset[str]:
    """Request fields a path binds whole (`name`); `user.name` stays in the body's `user`."""
    return frozenset(path for path in paths if "." not in path)


def _json_body(schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _summary(method: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", method).capitalize()


def _access_text(access: AccessRule) -> str:
    if access.audience is Audience.OWNER:
        roles = f", or {', '.join(sorted(access.roles))}" if access.roles else ""
        return _AUDIENCE_TEXT[Audience.OWNER].format(field=access.owner_field, roles=roles)
    if access.audience is Audience.STAFF:
        where = f" named by `{access.studio_field}`" if access.studio_field else " of their token"
        return _AUDIENCE_TEXT[Audience.STAFF].format(
            roles=" or ".join(sorted(access.roles)), where=where
        )
    return _AUDIENCE_TEXT[access.audience]


def openapi_document(services: Sequence[ServiceEntry] = SERVICES) -> dict[str, Any]:
    builder = _Builder()
    paths: dict[str, dict[str, Any]] = {}
    for service in services:
        for contract in sorted(service.edge_methods, key=lambda c: c.path):
            verb, path, operation = builder.operation(service, contract)
            if verb in paths.setdefault(path, {}):
                raise ValueError(f"two RPCs map to {verb.upper()} {path}")
            paths[path][verb] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Stride REST API",
            "version": "1",
            "description": "The REST surface of Stride's services, served by the edge (Envoy's "
            "gRPC-JSON transcoder). Send `Accept-Language: ar` for Arabic messages.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(builder.schemas.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from `POST /v1/sessions:signIn` or "
                    "`POST /v1/sessions:refresh` (10 minutes).",
                }
            },
        },
    }


def write_document(path: Path, services: Sequence[ServiceEntry] = SERVICES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(openapi_document(services), indent=2, ensure_ascii=False))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stride-openapi", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("openapi.json"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(write_document(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

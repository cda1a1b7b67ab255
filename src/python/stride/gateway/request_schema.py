"""Rejects JSON request bodies that carry fields the API does not have.

Envoy's transcoder silently drops unknown JSON fields (envoyproxy/envoy#46623), so a client's
typo (`displayname`) would "succeed" without doing anything. This renders a Lua filter that runs
before the transcoder: it knows every REST route's body message from the descriptors, walks the
JSON, and answers 400 with a `google.rpc.BadRequest` naming each unknown field, in the caller's
language, or 400 for a body that is not JSON at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence

from google.api import annotations_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor

from stride.gateway.catalog import ServiceEntry
from stride.platform.grpc.status import ERROR_DOMAIN
from stride.platform.i18n import CATALOG, SUPPORTED_LOCALES

HANDLED_HEADER = "x-stride-edge-reply"  # Marks replies this filter wrote (see edge_errors).
_OPAQUE_PACKAGES = ("google.protobuf.",)  # Well-known types have their own JSON forms.
RAW_BODY = "google.api.HttpBody"


def _lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # A JSON string literal is a valid Lua one.


def _route_pattern(template: str) -> str:
    """`/v1/{name=users/*}:revoke` → `^/v1/users/[^/]+:revoke$` (a Lua pattern)."""

    def segment(pattern: str) -> str:
        parts = []
        for piece in pattern.split("/"):
            parts.append(".+" if piece == "**" else "[^/]+" if piece == "*" else _escape(piece))
        return "/".join(parts)

    out, position = [], 0
    for match in re.finditer(r"\{([^}=]+)(?:=([^}]*))?\}", template):
        out.append(_escape(template[position : match.start()]))
        out.append(segment(match.group(2) or "*"))
        position = match.end()
    out.append(_escape(template[position:]))
    return "^" + "".join(out) + "$"


def _escape(literal: str) -> str:
    return re.sub(r"([%^$().\[\]*+\-?])", r"%\1", literal)


def _message_fields(message: Descriptor) -> dict[str, str | bool]:
    """JSON name and proto name → the field's message type name, or True for anything else
    (scalars, enums, maps, well-known types): the filter checks names only down to messages."""
    fields: dict[str, str | bool] = {}
    for field in message.fields:
        fields[field.json_name] = fields[field.name] = _checked_message(field) or True
    return fields


def _checked_message(field: FieldDescriptor) -> str | None:
    """The message type whose fields the filter also checks, if any."""
    nested = field.message_type
    if field.type != FieldDescriptor.TYPE_MESSAGE or nested is None:
        return None
    if nested.GetOptions().map_entry or nested.full_name.startswith(_OPAQUE_PACKAGES):
        return None
    return str(nested.full_name)


def _messages_under(message: Descriptor, seen: dict[str, dict[str, str | bool]]) -> None:
    if message.full_name in seen:
        return
    seen[message.full_name] = _message_fields(message)
    for field in message.fields:
        if _checked_message(field) is not None and field.message_type is not None:
            _messages_under(field.message_type, seen)


def _body_routes(
    services: Sequence[ServiceEntry],
) -> Iterator[tuple[str, str, MethodDescriptor, str]]:
    for service in services:
        for file in service.descriptors:
            for grpc_service in file.services_by_name.values():
                for method in grpc_service.methods:
                    rule = method.GetOptions().Extensions[annotations_pb2.http]
                    verb = rule.WhichOneof("pattern")
                    if rule.body and verb and verb != "custom":
                        yield verb.upper(), getattr(rule, verb), method, rule.body


def render_lua(services: Sequence[ServiceEntry]) -> str:
    schemas: dict[str, dict[str, str | bool]] = {}
    routes = []
    for verb, template, method, body in _body_routes(services):
        message, prefix = method.input_type, ""
        if body != "*":
            body_type = message.fields_by_name[body].message_type
            if body_type is None:
                raise ValueError(f"{method.full_name}: body field {body!r} is not a message")
            if body_type.full_name == RAW_BODY:
                continue  # Raw bytes (a webhook's payload), not JSON with fields to check.
            message, prefix = body_type, f"{body}."
        _messages_under(message, schemas)
        routes.append(
            f"  {{method = {_lua_string(verb)}, pattern = {_lua_string(_route_pattern(template))},"
            f" schema = {_lua_string(message.full_name)}, prefix = {_lua_string(prefix)}}},"
        )
    schema_lines = []
    for name, fields in sorted(schemas.items()):
        entries = ", ".join(
            f"[{_lua_string(key)}] = {_lua_string(value) if isinstance(value, str) else 'true'}"
            for key, value in sorted(fields.items())
        )
        schema_lines.append(f"  [{_lua_string(name)}] = {{{entries}}},")
    return _LUA.format(
        schemas="\n".join(schema_lines),
        routes="\n".join(routes),
        texts=_texts(),
        domain=_lua_string(json.dumps(ERROR_DOMAIN)),  # Spliced into JSON as a JSON string.
        handled=_lua_string(HANDLED_HEADER),
    )


def _texts() -> str:
    def text(key: str, locale: str) -> str:
        return _lua_string(CATALOG.translate(key, locale))  # type: ignore[arg-type]

    return "\n".join(
        f"  {locale} = {{locale = {_lua_string(locale)},"
        f" invalid = {text('error.invalid_argument', locale)},"
        f" unknown = {text('field.unknown', locale)},"
        f" malformed = {text('request.malformed_json', locale)}}},"
        for locale in SUPPORTED_LOCALES
    )


_LUA = """
local SCHEMAS = {{
{schemas}
}}
local ROUTES = {{
{routes}
}}
local TEXT = {{
{texts}
}}

local ESCAPES = {{['"'] = '"', ['\\\\'] = '\\\\', ['/'] = '/', b = '\\b', f = '\\f', n = '\\n',
  r = '\\r', t = '\\t'}}

local function skip(s, i)
  return s:find("[^ \\t\\r\\n]", i) or #s + 1
end

local function parse_string(s, i)
  local parts, j = {{}}, i + 1
  while true do
    local k = s:find('["\\\\]', j)
    if not k then error("unterminated string") end
    parts[#parts + 1] = s:sub(j, k - 1)
    if s:sub(k, k) == '"' then return table.concat(parts), k + 1 end
    local escape = s:sub(k + 1, k + 1)
    if escape == "u" then
      if not s:sub(k + 2, k + 5):match("^%x%x%x%x$") then error("bad escape") end
      parts[#parts + 1] = "\\\\u" .. s:sub(k + 2, k + 5)
      j = k + 6
    else
      if not ESCAPES[escape] then error("bad escape") end
      parts[#parts + 1] = ESCAPES[escape]
      j = k + 2
    end
  end
end

local parse_value

local function parse_object(s, i, schema, path, unknown)
  local fields = type(schema) == "string" and SCHEMAS[schema] or nil
  i = skip(s, i + 1)
  if s:sub(i, i) == "}}" then return i + 1 end
  while true do
    if s:sub(i, i) ~= '"' then error("expected a key") end
    local key
    key, i = parse_string(s, i)
    i = skip(s, i)
    if s:sub(i, i) ~= ":" then error("expected :") end
    local child = true
    if fields then
      child = fields[key]
      if child == nil then
        unknown[#unknown + 1] = path .. key
        child = true
      end
    end
    i = skip(s, parse_value(s, skip(s, i + 1), child, path .. key .. ".", unknown))
    local c = s:sub(i, i)
    if c == "}}" then return i + 1 end
    if c ~= "," then error("expected , or }}") end
    i = skip(s, i + 1)
  end
end

local function parse_array(s, i, schema, path, unknown)
  i = skip(s, i + 1)
  if s:sub(i, i) == "]" then return i + 1 end
  while true do
    i = skip(s, parse_value(s, i, schema, path, unknown))
    local c = s:sub(i, i)
    if c == "]" then return i + 1 end
    if c ~= "," then error("expected , or ]") end
    i = skip(s, i + 1)
  end
end

parse_value = function(s, i, schema, path, unknown)
  local c = s:sub(i, i)
  if c == "{{" then return parse_object(s, i, schema, path, unknown) end
  if c == "[" then return parse_array(s, i, schema, path, unknown) end
  if c == '"' then
    local _, j = parse_string(s, i)
    return j
  end
  local literal = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i) or s:match("^true", i)
    or s:match("^false", i) or s:match("^null", i)
  if not literal then error("unexpected character") end
  return i + #literal
end

local function json_string(value)
  return '"' .. value:gsub('[%c"\\\\]', function(ch)
    return string.format("\\\\u%04x", ch:byte())
  end) .. '"'
end

local function reply(handle, text, reason, violations)
  local body = '{{"code":3,"message":' .. json_string(text.invalid) .. ',"details":['
    .. '{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"' .. reason
    .. '","domain":' .. {domain} .. '}}'
  if #violations > 0 then
    local items = {{}}
    for _, field in ipairs(violations) do
      items[#items + 1] = '{{"field":' .. json_string(field) .. ',"reason":"field.unknown",'
        .. '"description":' .. json_string(text.unknown) .. '}}'
    end
    body = body .. ',{{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":['
      .. table.concat(items, ",") .. ']}}'
  else
    body = body .. ',{{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"'
      .. text.locale .. '","message":' .. json_string(text.malformed) .. '}}'
  end
  handle:headers():add({handled}, "1")
  handle:respond({{[":status"] = "400", ["content-type"] = "application/json"}}, body .. "]}}")
end

function envoy_on_request(handle)
  local headers = handle:headers()
  if not (headers:get("content-type") or ""):find("json", 1, true) then return end
  local method, path = headers:get(":method"), (headers:get(":path") or ""):gsub("%?.*$", "")
  -- Read before body(): waiting for the body invalidates the header map object.
  local text = TEXT[headers:get("x-stride-locale")] or TEXT.en
  for _, route in ipairs(ROUTES) do
    if route.method == method and path:match(route.pattern) then
      local body = handle:body()
      local raw = body and body:getBytes(0, body:length()) or ""
      if raw:match("^%s*$") then return end
      local unknown = {{}}
      local ok, after = pcall(parse_value, raw, skip(raw, 1), route.schema, route.prefix, unknown)
      if not ok or skip(raw, after) <= #raw then
        return reply(handle, text, "MALFORMED_JSON", {{}})
      end
      if #unknown > 0 then return reply(handle, text, "UNKNOWN_FIELD", unknown) end
      return
    end
  end
end
"""

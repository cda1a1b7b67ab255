"""Renders the Envoy bootstrap for the edge from the service catalog.

One listener serves REST (grpc_json_transcoder: JSON ⇄ protobuf, lowerCamelCase field names,
gRPC statuses with rich details as JSON error bodies) and native gRPC, routed method by method
to one HTTP/2 cluster per service with active gRPC health checks. Only the RPCs the contracts
expose are routed (`stride.api.v1.access`): an internal RPC, in either form, is a 404 here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stride.gateway.catalog import ServiceEntry
from stride.gateway.edge_errors import PROTOCOL_HEADER, local_reply_config
from stride.gateway.request_schema import render_lua
from stride.platform.grpc.client_address import CLIENT_ADDRESS_METADATA_KEY
from stride.platform.grpc.contract import Audience, MethodContract
from stride.platform.grpc.no_content import NO_CONTENT_METADATA_KEY

_TYPES = "type.googleapis.com/envoy.extensions"
UNROUTABLE_CLUSTER = "unroutable"
EDGE_SELF_CLUSTER = "edge_self"
JWKS_PATH = "/.well-known/jwks.json"
OPENAPI_PATH = "/v1/openapi.json"
_MAX_DOCUMENT_BYTES = 8 * 1024 * 1024  # Envoy serves at most 4 KiB from a file unless told.
CORS_ALLOWED_HEADERS = "authorization, content-type, accept-language, x-stride-locale, x-request-id"

# Accept-Language → x-stride-locale (ar|en): the highest-weighted supported language wins; an
# explicit, valid x-stride-locale from the client is kept. Also records whether the client
# speaks REST or gRPC, which the transcoder later hides by rewriting the content-type. On the
# way back, a REST answer the service marked as having no content becomes a 204
# (`stride.platform.grpc.no_content`).
_LOCALE_LUA = """
function envoy_on_request(handle)
  local headers = handle:headers()
  local grpc = (headers:get("content-type") or ""):find("^application/grpc") ~= nil
  headers:replace("PROTOCOL_HEADER", grpc and "grpc" or "rest")
  local explicit = headers:get("x-stride-locale")
  if explicit == "ar" or explicit == "en" then return end
  local best, best_q = "en", -1
  for part in string.gmatch(headers:get("accept-language") or "", "[^,]+") do
    local tag = string.lower(string.match(part, "^%s*([%a%-%*]+)") or "")
    local q = tonumber(string.match(part, ";%s*q=([%d%.]+)") or "1") or 0
    local language = string.match(tag, "^(%a+)")
    if (language == "ar" or language == "en") and q > best_q then
      best, best_q = language, q
    end
  end
  headers:replace("x-stride-locale", best)
end

function envoy_on_response(handle)
  local headers = handle:headers()
  if headers:get("NO_CONTENT_HEADER") == nil then return end
  headers:remove("NO_CONTENT_HEADER")
  local grpc = (headers:get("content-type") or ""):find("^application/grpc") ~= nil
  if not grpc and headers:get(":status") == "200" then
    headers:replace(":status", "204")
    headers:remove("content-type")
  end
end
""".replace(
    "PROTOCOL_HEADER", PROTOCOL_HEADER
).replace(
    "NO_CONTENT_HEADER", NO_CONTENT_METADATA_KEY
)


@dataclass(frozen=True)
class EdgeTls:
    port: int
    certificate_chain: Path
    private_key: Path


@dataclass(frozen=True)
class EdgeSettings:
    listen_port: int
    admin_port: int
    descriptor_path: Path
    upstreams: Mapping[str, tuple[str, int]]  # service name → (host, port)
    cors_origins: Sequence[str] = ("http://localhost:3000",)
    max_request_bytes: int = 1024 * 1024
    route_timeout_seconds: int = 30
    listen_address: str = "127.0.0.1"  # A pod listens on 0.0.0.0; this machine, loopback only.
    jwt_issuer: str = "https://identity.stride.local"
    jwt_audience: str = "stride"
    jwks_cache_seconds: int = 300  # Identity publishes new keys longer ahead than this.
    # Token buckets per client address on each rate-limited method (sign-up, sign-in, password
    # reset, …), per Envoy instance: a client that floods them empties only its own buckets.
    # Identity throttles wrong passwords per account and per address behind this.
    auth_burst_per_client: int = 10
    auth_per_second_per_client: int = 1
    # The session-refresh buckets, per client address too and generous: every signed-in app
    # refreshes every few minutes, and a carrier's NAT puts thousands of members on one address.
    refresh_burst_per_client: int = 200
    refresh_per_second_per_client: int = 50
    # Clients whose buckets each route remembers (a few hundred bytes each, on 8 routes); past
    # it the least recently seen start over with a full bucket, which never holds a member back.
    rate_limited_clients: int = 20_000
    # Proxies in front of the edge that append the client's address to x-forwarded-for: 0 when
    # clients connect to Envoy themselves (a network load balancer that keeps source addresses,
    # e.g. `externalTrafficPolicy: Local`), 1 behind one L7 load balancer. A client can prepend
    # to the header, so trusting more hops than there are proxies lets it choose its address.
    trusted_proxy_hops: int = 0
    # Requests in flight (and queued) per upstream before Envoy sheds load with 503. Envoy's
    # default, 1024, turns a class-opening rush into errors instead of a short queue.
    max_requests_per_upstream: int = 8192
    # TLS at the edge: a second listener on `tls_port` serving the same routes over HTTPS and
    # gRPC-over-TLS (ALPN h2 and http/1.1), with this certificate chain and key (PEM files).
    tls: EdgeTls | None = None
    # The REST contract (stride.gateway.openapi), served as it is at OPENAPI_PATH.
    openapi_document: Path | None = None


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _load_assignment(cluster: str, host: str, port: int) -> dict[str, Any]:
    return {
        "cluster_name": cluster,
        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(host, port)}}]}],
    }


def _discovery_type(host: str) -> str:
    """Literal IPs are static; names (a Kubernetes Service) are re-resolved as pods come and go."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "STRICT_DNS"
    return "STATIC"


def _cluster(service: ServiceEntry, host: str, port: int, max_requests: int) -> dict[str, Any]:
    return {
        "name": service.name,
        "type": _discovery_type(host),
        "circuit_breakers": {
            "thresholds": [
                {
                    "max_connections": max_requests,
                    "max_pending_requests": max_requests,
                    "max_requests": max_requests,
                }
            ]
        },
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{_TYPES}.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": _load_assignment(service.name, host, port),
        "health_checks": [
            {
                "timeout": "1s",
                "interval": "2s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "grpc_health_check": {"service_name": service.grpc_services[0]},
            }
        ],
    }


def _route(service: ServiceEntry, contract: MethodContract, timeout_seconds: int) -> dict[str, Any]:
    """One RPC the edge exposes. Matched after the transcoder rewrote a REST path to the gRPC
    path, so one route covers the REST and the gRPC form of the call. A stream has no route
    timeout: it lasts until the client leaves or the service ends it (`max_stream_seconds`),
    and Envoy's idle timeout still ends one gone silent (the services send heartbeats)."""
    streaming = contract.descriptor.server_streaming
    route: dict[str, Any] = {
        "match": {"path": contract.path},
        "route": {"cluster": service.name, "timeout": "0s" if streaming else f"{timeout_seconds}s"},
    }
    if contract.path in service.event_stream_methods:
        # Neither the browser nor a proxy between keeps or caches a live stream.
        route["response_headers_to_add"] = [
            {
                "header": {"key": "cache-control", "value": "no-cache"},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            },
            {
                "header": {"key": "x-accel-buffering", "value": "no"},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            },
        ]
    return route


def rest_path_regex(template: str) -> str:
    """An RE2 regex of the paths a `google.api.http` path template matches, e.g.
    `/v1/{name=users/*/workoutSessions/*}:watch` → `/v1/users/[^/]+/workoutSessions/[^/]+:watch`
    (a variable without a pattern is one segment; `**` is any number of them)."""
    plain = re.sub(r"\{[^}=]+=([^}]+)\}", r"\1", template)
    plain = re.sub(r"\{[^}]+\}", "*", plain)
    parts = re.split(r"(\*\*|\*)", plain)
    return "".join(
        ".+" if part == "**" else "[^/]+" if part == "*" else re.escape(part) for part in parts
    )


def _event_stream_routes(
    service: ServiceEntry, contract: MethodContract, transcoder: dict[str, Any]
) -> list[dict[str, Any]]:
    """The REST form of an event-stream RPC, matched on the path the client sent, before the
    transcoder rewrites it: the transcoder takes its configuration from the route it finds
    then, and this one makes it frame the stream as Server-Sent Events. The rewritten request
    is routed again, by the RPC's own route."""
    rule = contract.http_rule
    if rule is None or rule.WhichOneof("pattern") != "get":
        raise ValueError(f"event stream {contract.path} needs a GET http rule")
    templates = [rule.get, *(extra.get for extra in rule.additional_bindings if extra.get)]
    sse = {
        **transcoder,
        "print_options": {
            **transcoder["print_options"],
            "stream_newline_delimited": False,
            "stream_sse_style_delimited": True,
        },
    }
    return [
        {
            "match": {
                "safe_regex": {"regex": rest_path_regex(template)},
                "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
            },
            "route": {"cluster": service.name, "timeout": "0s"},
            "typed_per_filter_config": {"envoy.filters.http.grpc_json_transcoder": sse},
        }
        for template in templates
    ]


def _per_client_rate_limit(burst: int, per_second: int, clients: int) -> dict[str, Any]:
    """A token bucket per client address (the one Envoy trusts: see `trusted_proxy_hops`) on
    one route: a descriptor entry without a value makes Envoy keep a bucket per value. An IPv6
    client is its /64, which one subscriber holds whole and could otherwise walk through."""
    bucket = {"max_tokens": burst, "tokens_per_fill": per_second, "fill_interval": "1s"}
    client = {"v4_prefix_mask_len": 32, "v6_prefix_mask_len": 64}
    return {
        "@type": f"{_TYPES}.filters.http.local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": "client_rate_limit",
        "rate_limits": [{"actions": [{"masked_remote_address": client}]}],
        "descriptors": [{"entries": [{"key": "masked_remote_address"}], "token_bucket": bucket}],
        "max_dynamic_descriptors": clients,
        # A request with a client address is counted in that address's bucket only; the
        # route's own bucket takes what has none (a Unix socket peer), never everyone's.
        "always_consume_default_token_bucket": False,
        "token_bucket": bucket,
        "filter_enabled": _always("local_rate_limit_enabled"),
        "filter_enforced": _always("local_rate_limit_enforced"),
        "rate_limited_as_resource_exhausted": True,
    }


def _rate_limited_route(
    service: ServiceEntry, method: str, settings: EdgeSettings
) -> dict[str, Any]:
    if method in service.session_refresh_methods:
        burst, per_second = (
            settings.refresh_burst_per_client,
            settings.refresh_per_second_per_client,
        )
    else:
        burst, per_second = settings.auth_burst_per_client, settings.auth_per_second_per_client
    return {
        **_route(service, service.contracts[method], settings.route_timeout_seconds),
        "typed_per_filter_config": {
            "envoy.filters.http.local_ratelimit": _per_client_rate_limit(
                burst, per_second, settings.rate_limited_clients
            )
        },
    }


def _document_route(document: Path) -> dict[str, Any]:
    """The REST contract, straight from a file: no service behind it, so the transcoder (which
    would refuse a path no RPC maps) stays out of its way."""
    return {
        "match": {
            "path": OPENAPI_PATH,
            "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
        },
        "direct_response": {"status": 200, "body": {"filename": str(document)}},
        "response_headers_to_add": [
            {"header": {"key": "content-type", "value": "application/json"}},
            {"header": {"key": "cache-control", "value": "public, max-age=300"}},
        ],
        "typed_per_filter_config": {
            "envoy.filters.http.grpc_json_transcoder": {
                "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                "disabled": True,
            }
        },
    }


def edge_routes(services: Sequence[ServiceEntry], settings: EdgeSettings) -> list[dict[str, Any]]:
    """A route per RPC the contracts expose; an internal RPC matches none and gets the 404."""
    routes = []
    if settings.openapi_document is not None:
        routes.append(_document_route(settings.openapi_document))
    for service in services:
        for contract in sorted(service.edge_methods, key=lambda c: c.path):
            if contract.path in service.rate_limited_methods | service.session_refresh_methods:
                routes.append(_rate_limited_route(service, contract.path, settings))
            else:
                routes.append(_route(service, contract, settings.route_timeout_seconds))
            if contract.path in service.event_stream_methods:
                routes += _event_stream_routes(service, contract, transcoder(services, settings))
    return routes


def _always(runtime_key: str) -> dict[str, Any]:
    return {
        "runtime_key": runtime_key,
        "default_value": {"numerator": 100, "denominator": "HUNDRED"},
    }


def public_paths(services: Sequence[ServiceEntry]) -> list[str]:
    """Paths that need no token: each public method's gRPC path and its REST path, read from
    the method's `google.api.http` option, so the contract is the only list."""
    paths = []
    for service in services:
        for contract in sorted(service.methods_for(Audience.PUBLIC), key=lambda c: c.path):
            rule = contract.http_rule
            verb = rule.WhichOneof("pattern") if rule is not None else None
            if rule is None or verb is None or verb == "custom":
                raise ValueError(f"public method {contract.path} needs a GET/POST/... http rule")
            rest_path = getattr(rule, verb)
            if "{" in rest_path:
                raise ValueError(f"public method {contract.path} must have a literal REST path")
            paths += [contract.path, rest_path]
    return paths


def _jwt_authn(services: Sequence[ServiceEntry], settings: EdgeSettings) -> dict[str, Any]:
    """Every path needs a valid access token but the public ones. Keys come from Identity's
    JWKS, fetched through this listener (the transcoded GetJwks) and refreshed in the
    background; the token is still forwarded so services verify it again."""
    return {
        "@type": f"{_TYPES}.filters.http.jwt_authn.v3.JwtAuthentication",
        "providers": {
            "identity": {
                "issuer": settings.jwt_issuer,
                "audiences": [settings.jwt_audience],
                "remote_jwks": {
                    "http_uri": {
                        "uri": f"http://127.0.0.1:{settings.listen_port}{JWKS_PATH}",
                        "cluster": EDGE_SELF_CLUSTER,
                        "timeout": "2s",
                    },
                    "cache_duration": f"{settings.jwks_cache_seconds}s",
                    "async_fetch": {"fast_listener": True, "failed_refetch_duration": "1s"},
                },
                "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
                "forward": True,
                "clock_skew_seconds": 30,
            }
        },
        "rules": [
            {"match": {"path": OPENAPI_PATH}},
            *({"match": {"path": path}} for path in public_paths(services)),
            {"match": {"prefix": "/"}, "requires": {"provider_name": "identity"}},
        ],
    }


def _cors_policy(origins: Sequence[str]) -> dict[str, Any]:
    return {
        "@type": f"{_TYPES}.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [{"exact": origin} for origin in origins],
        "allow_methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "allow_headers": CORS_ALLOWED_HEADERS,
        "expose_headers": "x-request-id, grpc-status, grpc-message",
        "max_age": "600",
    }


def transcoder(services: Sequence[ServiceEntry], settings: EdgeSettings) -> dict[str, Any]:
    """REST ⇄ gRPC for every service; event-stream routes override its print options."""
    return {
        "@type": f"{_TYPES}.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        "proto_descriptor": str(settings.descriptor_path),
        "services": [name for service in services for name in service.grpc_services],
        "convert_grpc_status": True,
        "print_options": {"always_print_primitive_fields": True},
        # Query strings as forms and most clients encode them (a space as `+`), so an
        # AIP-160 `filter=state+%3D+STATE_FAILED` reads as written; a `+` is `%2B`.
        "query_param_unescape_plus": True,
        # Unmapped paths get 404 here instead of a 503 from a gRPC upstream; unknown
        # query parameters are a client bug we report rather than silently drop.
        "request_validation_options": {
            "reject_unknown_method": True,
            "reject_unknown_query_parameters": True,
        },
    }


def http_filters(services: Sequence[ServiceEntry], settings: EdgeSettings) -> list[dict[str, Any]]:
    """The request path, in order. Authentication goes before the transcoder, so its rules see
    the original REST or gRPC path; rate limits go after it, so they see only the gRPC path."""
    return [
        {
            "name": "envoy.filters.http.cors",
            "typed_config": {"@type": f"{_TYPES}.filters.http.cors.v3.Cors"},
        },
        {
            "name": "envoy.filters.http.lua",
            "typed_config": {
                "@type": f"{_TYPES}.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": _LOCALE_LUA},
            },
        },
        {"name": "envoy.filters.http.jwt_authn", "typed_config": _jwt_authn(services, settings)},
        {
            "name": "envoy.filters.http.buffer",
            "typed_config": {
                "@type": f"{_TYPES}.filters.http.buffer.v3.Buffer",
                "max_request_bytes": settings.max_request_bytes,
            },
        },
        {
            "name": "stride.request_schema",
            "typed_config": {
                "@type": f"{_TYPES}.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": render_lua(services)},
            },
        },
        {
            "name": "envoy.filters.http.grpc_json_transcoder",
            "typed_config": transcoder(services, settings),
        },
        {
            "name": "envoy.filters.http.local_ratelimit",
            "typed_config": {
                "@type": f"{_TYPES}.filters.http.local_ratelimit.v3.LocalRateLimit",
                "stat_prefix": "edge_rate_limit",  # Enforced only where a route configures it.
            },
        },
        {
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": f"{_TYPES}.filters.http.router.v3.Router"},
        },
    ]


def _edge_self_cluster(port: int) -> dict[str, Any]:
    """jwt_authn fetches the JWKS over HTTP; Identity serves it through this very listener."""
    return {
        "name": EDGE_SELF_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": EDGE_SELF_CLUSTER,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _socket("127.0.0.1", port)}}]}
            ],
        },
    }


def _listener(
    name: str,
    address: str,
    port: int,
    connection_manager: dict[str, Any],
    transport_socket: dict[str, Any] | None = None,
) -> dict[str, Any]:
    chain: dict[str, Any] = {
        "filters": [
            {
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": connection_manager,
            }
        ]
    }
    if transport_socket is not None:
        chain["transport_socket"] = transport_socket
    return {"name": name, "address": _socket(address, port), "filter_chains": [chain]}


def _tls_transport(tls: EdgeTls) -> dict[str, Any]:
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": f"{_TYPES}.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {
                        "certificate_chain": {"filename": str(tls.certificate_chain)},
                        "private_key": {"filename": str(tls.private_key)},
                    }
                ],
            },
        },
    }


def render(services: Sequence[ServiceEntry], settings: EdgeSettings) -> dict[str, Any]:
    missing = {service.name for service in services} - set(settings.upstreams)
    if missing:
        raise ValueError(f"no upstream address for {sorted(missing)}")
    connection_manager = {
        "@type": f"{_TYPES}.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "edge",
        "codec_type": "AUTO",
        "generate_request_id": True,
        # The edge faces clients: Envoy appends the connection's address to x-forwarded-for
        # and takes the client's address from the connection, or from the header's entry
        # `trusted_proxy_hops` from its end, never from what the client wrote there.
        "use_remote_address": True,
        "xff_num_trusted_hops": settings.trusted_proxy_hops,
        "always_set_request_id_in_response": True,
        "route_config": {
            "name": "edge",
            "max_direct_response_body_size_bytes": _MAX_DOCUMENT_BYTES,
            "virtual_hosts": [
                {
                    "name": "stride",
                    "domains": ["*"],
                    "routes": [
                        *edge_routes(services, settings),
                        # REST paths match only after the transcoder rewrote them to gRPC paths;
                        # this route exists so CORS preflights (never transcoded) find the policy
                        # (the CORS filter ignores direct_response routes).
                        {
                            "match": {
                                "prefix": "/",
                                "headers": [
                                    {"name": ":method", "string_match": {"exact": "OPTIONS"}}
                                ],
                            },
                            "route": {"cluster": UNROUTABLE_CLUSTER},
                        },
                        # Everything else, internal RPCs included: not found, as JSON for REST
                        # clients (edge_errors) and as a gRPC status for gRPC ones.
                        {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
                    ],
                    "typed_per_filter_config": {
                        "envoy.filters.http.cors": _cors_policy(settings.cors_origins)
                    },
                    # The services read the client's address from here, never from
                    # x-forwarded-for, where a client writes what it likes before our entry.
                    "request_headers_to_add": [
                        {
                            "header": {
                                "key": CLIENT_ADDRESS_METADATA_KEY,
                                "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
                            },
                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        }
                    ],
                }
            ],
        },
        "http_filters": http_filters(services, settings),
        "local_reply_config": local_reply_config(),
    }
    listeners = [
        _listener("edge", settings.listen_address, settings.listen_port, connection_manager)
    ]
    if settings.tls is not None:
        listeners.append(
            _listener(
                "edge_tls",
                settings.listen_address,
                settings.tls.port,
                connection_manager,
                transport_socket=_tls_transport(settings.tls),
            )
        )
    return {
        "admin": {"address": _socket("127.0.0.1", settings.admin_port)},
        "static_resources": {
            "listeners": listeners,
            "clusters": [
                *(
                    _cluster(s, *settings.upstreams[s.name], settings.max_requests_per_upstream)
                    for s in services
                ),
                # No endpoints: whatever reaches it gets 503. Only CORS preflights, answered
                # by the CORS filter, are meant to match its route.
                {"name": UNROUTABLE_CLUSTER, "type": "STATIC", "connect_timeout": "1s"},
                _edge_self_cluster(settings.listen_port),
            ],
        },
    }

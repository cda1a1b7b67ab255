"""Writes the edge bundle — Envoy's bootstrap, the descriptor set it transcodes with and the
OpenAPI document it serves — from the service catalog. `./pants up` calls `write_edge_bundle`
for this machine; a Kubernetes pod runs this module as an init container (see
`k8s/base/edge.yaml`), so no rendered config is ever committed and adding a service to the
catalog is all the edge needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stride.gateway.catalog import SERVICES, ServiceEntry
from stride.gateway.descriptors import build_descriptor_set
from stride.gateway.envoy_config import EdgeSettings, EdgeTls, render
from stride.gateway.openapi import write_document

CONFIG_NAME = "envoy.json"
DESCRIPTOR_NAME = "descriptor.binpb"
OPENAPI_NAME = "openapi.json"


def write_edge_bundle(
    directory: Path,
    *,
    listen_address: str,
    listen_port: int,
    admin_port: int,
    upstream_host: str,
    cors_origins: Sequence[str],
    services: Sequence[ServiceEntry] = SERVICES,
    **edge_options: Any,
) -> Path:
    """Returns the config path. `upstream_host` is a literal host or a `{name}` template (the
    Kubernetes Service of each catalog entry); every upstream listens on its catalog port.
    `edge_options` are further EdgeSettings fields (rate limits, JWKS cache, …)."""
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = directory / DESCRIPTOR_NAME
    descriptor.write_bytes(build_descriptor_set([d for s in services for d in s.descriptors]))
    settings = EdgeSettings(
        listen_address=listen_address,
        listen_port=listen_port,
        admin_port=admin_port,
        descriptor_path=descriptor,
        openapi_document=write_document(directory / OPENAPI_NAME, services),
        upstreams={s.name: (upstream_host.format(name=s.name), s.local_port) for s in services},
        cors_origins=tuple(cors_origins),
        **edge_options,
    )
    config_path = directory / CONFIG_NAME
    config_path.write_text(json.dumps(render(services, settings), indent=2))
    return config_path


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stride-edge-render", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory for the bundle")
    parser.add_argument("--listen-address", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, default=8080)
    parser.add_argument("--admin-port", type=int, default=9901)
    parser.add_argument(
        "--upstream-host", default="127.0.0.1", help="host or `{name}` template per service"
    )
    parser.add_argument(
        "--cors-origin", action="append", default=[], help="allowed browser origin (repeat)"
    )
    parser.add_argument(
        "--trusted-proxy-hops",
        type=int,
        default=0,
        help="proxies in front of the edge that append to x-forwarded-for (an L7 load balancer)",
    )
    parser.add_argument("--tls-port", type=int, help="also serve HTTPS/gRPC-TLS on this port")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate chain for --tls-port")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for --tls-port")
    args = parser.parse_args(argv)
    if args.tls_port and not (args.tls_cert and args.tls_key):
        parser.error("--tls-port needs --tls-cert and --tls-key")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    path = write_edge_bundle(
        args.out,
        listen_address=args.listen_address,
        listen_port=args.listen_port,
        admin_port=args.admin_port,
        upstream_host=args.upstream_host,
        cors_origins=args.cors_origin,
        tls=EdgeTls(args.tls_port, args.tls_cert, args.tls_key) if args.tls_port else None,
        trusted_proxy_hops=args.trusted_proxy_hops,
    )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

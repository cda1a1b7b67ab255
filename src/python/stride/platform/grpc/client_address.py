"""The address of the client a call came from.

The edge Envoy writes the address it trusts (the connection's, or the one the trusted load
balancer in front of it reported) into `x-stride-client-address`, replacing whatever a client
sent under that name. `x-forwarded-for` is not read: a client can put any address in it.
"""

from __future__ import annotations

import grpc

CLIENT_ADDRESS_METADATA_KEY = "x-stride-client-address"


def client_address(context: grpc.aio.ServicerContext) -> str:
    """The end client's address as the edge saw it, else the gRPC peer's (a caller inside the
    cluster)."""
    for key, value in context.invocation_metadata() or ():
        if key == CLIENT_ADDRESS_METADATA_KEY and isinstance(value, str) and value:
            return value
    peer = context.peer() or "unknown"
    return peer.rsplit(":", 1)[0] if peer.startswith(("ipv4:", "ipv6:")) else peer

from e2e.support import (  # noqa: F401 - fixtures.
    edge,
    edge_port,
    edges,
    identity,
    identity_clock,
    identity_config,
    platform,
    platform_edge,
)

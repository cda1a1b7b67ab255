from e2e.support import (  # noqa: F401 - fixtures.
    edge,
    edges,
    identity,
    identity_clock,
    identity_config,
)

from e2e.support import edge, edges, identity, identity_config  # noqa: F401 - fixtures.

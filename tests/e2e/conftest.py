from e2e.support import edge, edges, identity  # noqa: F401 - fixtures for the e2e modules.

from billing.support import new_uow  # noqa: F401 - the fixture for this folder's modules.

from billing.support import new_uow, payments  # noqa: F401 - fixtures for this folder.

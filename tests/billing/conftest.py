from billing.support import financing, new_uow, payments, tabby  # noqa: F401 - fixtures.

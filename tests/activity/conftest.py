from activity.support import new_uow  # noqa: F401 - fixtures.

from activity.support import live, new_uow, sessions  # noqa: F401 - fixtures.

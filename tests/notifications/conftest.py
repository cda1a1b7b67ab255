from notifications.support import fcm, new_uow  # noqa: F401 - fixtures.

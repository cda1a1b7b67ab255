from notifications.support import fcm, new_uow, smtp  # noqa: F401 - fixtures.

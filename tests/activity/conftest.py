from activity.support import (  # noqa: F401 - fixtures.
    changes,
    import_worker,
    live,
    new_uow,
    queue,
    sessions,
)

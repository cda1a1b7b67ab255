"""The check every RPC passes before its handler reads the request: the caller against the
audience the contract declares (`stride.api.v1.access`).

It runs before the request's limits are checked (AIP-211): a member naming another member's
resource learns PERMISSION_DENIED, never which of their fields would have been wrong.
"""

from __future__ import annotations

from google.protobuf.message import Message

from stride.platform.auth import Principal
from stride.platform.errors import PermissionDenied, Unauthenticated
from stride.platform.grpc.contract import AccessRule, Audience, field_value


def owner_of(name: str) -> str | None:
    """`users/{user}` or anything under it → the user's id."""
    collection, _, rest = name.partition("/")
    user = rest.partition("/")[0]
    return user if collection == "users" and user else None


def studio_of(name: str) -> str | None:
    """`studios/{studio}` or anything under it → `studios/{studio}`."""
    collection, _, rest = name.partition("/")
    studio = rest.partition("/")[0]
    return f"studios/{studio}" if collection == "studios" and studio else None


def authorize(rule: AccessRule, request: Message, principal: Principal | None) -> None:
    """Raises unless the caller may make this request (internal callers are checked by their
    service credential before the request is read)."""
    if rule.audience in (Audience.PUBLIC, Audience.INTERNAL):
        return
    if principal is None:
        raise Unauthenticated()
    if rule.audience is Audience.OWNER:
        owner = owner_of(field_value(request, rule.owner_field))
        if owner != principal.user_id and not principal.has_role(*rule.roles):
            raise PermissionDenied()
    elif rule.audience is Audience.STAFF and not principal.has_role("admin"):
        if not principal.has_role(*rule.roles):
            raise PermissionDenied()
        if rule.studio_field:
            studio = studio_of(field_value(request, rule.studio_field))
            if studio is None or studio != principal.studio:
                raise PermissionDenied()

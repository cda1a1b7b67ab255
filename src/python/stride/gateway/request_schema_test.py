import re

import pytest

from stride.gateway.catalog import SERVICES
from stride.gateway.request_schema import _route_pattern, render_lua


def lua_pattern_to_regex(pattern: str) -> str:
    """Enough of Lua's pattern syntax for the patterns `_route_pattern` writes."""
    return re.sub(r"%(.)", lambda m: re.escape(m.group(1)), pattern)


@pytest.mark.parametrize(
    ("template", "path", "matches"),
    [
        ("/v1/users:signUp", "/v1/users:signUp", True),
        ("/v1/users:signUp", "/v1/users:signUpX", False),
        ("/v1/{name=users/*}", "/v1/users/42", True),
        ("/v1/{name=users/*}", "/v1/users/42/sessions", False),
        ("/v1/{name=users/*/sessions/*}:revoke", "/v1/users/1/sessions/2:revoke", True),
        ("/v1/{user.name=users/*}", "/v1/users/abc-def", True),
        ("/v1/{parent=users/*}/sessions", "/v1/users/1/sessions", True),
    ],
)
def test_route_templates_become_anchored_patterns(template: str, path: str, matches: bool) -> None:
    regex = lua_pattern_to_regex(_route_pattern(template))
    assert bool(re.fullmatch(regex.strip("^$"), path)) is matches


def test_every_body_route_and_its_messages_are_in_the_filter() -> None:
    lua = render_lua(SERVICES)
    assert '"^/v1/users:signUp$"' in lua
    assert '["stride.identity.v1.SignUpRequest"] = {' in lua
    # Both JSON forms of a field name are accepted, as the proto JSON mapping does.
    assert '["displayName"] = true' in lua
    assert '["display_name"] = true' in lua
    # Nested messages are checked by name; well-known types are left to the transcoder.
    assert '["grant"] = "stride.identity.v1.RoleGrant"' in lua
    assert '["createTime"] = true' in lua

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.platform.errors import InvalidArgument
from stride.platform.pagination import MAX_PAGE_SIZE, Page
from stride.platform.probe.v1.probe_service_pb2 import EchoRequest, ListProbesRequest

FAILED = ListProbesRequest(parent="users/-", filter="state = STATE_FAILED")


def page_token_violation(request: ListProbesRequest) -> str:
    with pytest.raises(InvalidArgument) as raised:
        Page.of(request)
    (violation,) = raised.value.violations
    return f"{violation.field}: {violation.message_key}"


def test_sizes_default_and_are_capped() -> None:
    assert Page.of(ListProbesRequest()).size == 20
    assert Page.of(ListProbesRequest(page_size=1000)).size == MAX_PAGE_SIZE
    assert Page.of(ListProbesRequest(page_size=7)).offset == 0
    with pytest.raises(InvalidArgument):
        Page.of(ListProbesRequest(page_size=-1))


def test_pages_follow_each_other_through_their_tokens() -> None:
    items = [f"item-{n}" for n in range(7)]
    seen, token = [], ""
    while True:
        request = ListProbesRequest()
        request.CopyFrom(FAILED)
        request.page_size, request.page_token = 3, token
        page = Page.of(request)
        found, token = page.cut(items[page.offset : page.offset + page.fetch_limit])
        seen.extend(found)
        if not token:
            break
    assert seen == items


def test_the_page_size_may_change_between_pages() -> None:
    first = Page.of(ListProbesRequest(parent="users/-", page_size=2))
    _, token = first.cut(["a", "b", "c"])
    second = Page.of(ListProbesRequest(parent="users/-", page_size=50, page_token=token))
    assert (second.offset, second.size) == (2, 50)


def test_a_token_continues_only_the_request_it_came_from() -> None:
    _, token = Page.of(FAILED).cut(list(range(30)))
    assert Page.of(ListProbesRequest(parent=FAILED.parent, filter=FAILED.filter, page_token=token))
    other_filter = ListProbesRequest(parent=FAILED.parent, filter="state = STATE_SENT")
    other_parent = ListProbesRequest(parent="users/42", filter=FAILED.filter)
    no_filter = ListProbesRequest(parent=FAILED.parent)
    for request in (other_filter, other_parent, no_filter):
        request.page_token = token
        assert page_token_violation(request) == "page_token: page.invalid_token"


def test_only_list_requests_have_pages() -> None:
    with pytest.raises(TypeError):
        Page.of(EchoRequest())


@given(st.integers(0, 27), st.integers(1, 255))
def test_a_token_changed_in_any_byte_is_refused(position: int, flip: int) -> None:
    _, token = Page.of(FAILED).cut(list(range(30)))
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[position % len(raw)] ^= flip
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    request = ListProbesRequest(parent=FAILED.parent, filter=FAILED.filter, page_token=tampered)
    assert page_token_violation(request) == "page_token: page.invalid_token"


@pytest.mark.parametrize("token", ["20", "abc", "-5", "A" * 27, "A" * 28, "+" * 28, "A" * 28 + "="])
def test_tokens_not_made_here_are_refused(token: str) -> None:
    request = ListProbesRequest(parent=FAILED.parent, filter=FAILED.filter, page_token=token)
    assert page_token_violation(request) == "page_token: page.invalid_token"


def test_cut_tells_whether_another_page_exists() -> None:
    page = Page.of(ListProbesRequest(page_size=2))
    assert page.fetch_limit == 3
    items, token = page.cut(["a", "b", "c"])
    assert (items, Page.of(ListProbesRequest(page_token=token)).offset) == (["a", "b"], 2)
    assert page.cut(["a"]) == (["a"], "")

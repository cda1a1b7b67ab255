import pytest

from stride.platform.errors import InvalidArgument
from stride.platform.pagination import MAX_PAGE_SIZE, Page


def test_defaults_caps_and_tokens() -> None:
    assert Page.from_request(0, "") == Page(0, 20)
    assert Page.from_request(1000, "40") == Page(40, MAX_PAGE_SIZE)


@pytest.mark.parametrize(("size", "token"), [(-1, ""), (10, "abc"), (10, "-5")])
def test_bad_page_requests_are_refused(size: int, token: str) -> None:
    with pytest.raises(InvalidArgument):
        Page.from_request(size, token)


def test_cut_tells_whether_another_page_exists() -> None:
    page = Page(10, 2)
    assert page.fetch_limit == 3
    assert page.cut(["a", "b", "c"]) == (["a", "b"], "12")
    assert page.cut(["a"]) == (["a"], "")

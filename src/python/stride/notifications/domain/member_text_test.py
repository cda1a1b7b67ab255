import pytest

from stride.notifications.domain.member_text import plain_name


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("Layla Haddad", "Layla Haddad"),
        ("ليلى حداد", "ليلى حداد"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # A joiner Persian spelling needs stays.
        ("Dr. Omar", "Dr. Omar"),
        ("Layla\nWin at evil.com now", "Layla Win at now"),
        ("Prize: https://evil.example/p?x=1 !", "Prize: !"),
        ("see www.evil.example", "see"),
        ("write to a@evil.example", "write to"),
        ("Omar\u202emoc.live", "Omar"),  # A bidi override and a reversed host.
        ("visit EVIL.COM/x", "visit"),
        ("go to مثال.السعودية", "go to"),
    ],
)
def test_a_display_name_keeps_its_words_and_loses_links_and_line_breaks(
    name: str, plain: str
) -> None:
    assert plain_name(name) == plain

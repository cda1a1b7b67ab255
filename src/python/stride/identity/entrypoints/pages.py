"""The frame of the small HTML pages Identity's emailed links open in a browser (reset_page,
verify_page): in the account's language, Arabic right to left. The link's token is in the
page's address, so no page sends a Referer."""

from __future__ import annotations

from html import escape


def html_page(language: str, title: str, body: str) -> str:
    """`body` (already HTML) under `title`, in `language`."""
    direction = "rtl" if language == "ar" else "ltr"
    return f"""<!doctype html>
<html lang="{escape(language)}" dir="{direction}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>{escape(title)}</title></head>
<body>
{body}
</body>
</html>
"""

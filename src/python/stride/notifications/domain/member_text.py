"""Text members wrote about themselves (a display name), made safe to print in a genuine
Stride message sent to any address: anyone can sign up as "Prize waiting at evil.com", so a
name keeps its words but loses links, addresses and line breaks (which would let it pose as a
paragraph of Stride's own)."""

from __future__ import annotations

import re
import unicodedata

# Joiners that Arabic and Persian names need; every other control or format character goes
# (line breaks, tabs, and bidirectional overrides that reorder what a reader sees).
_KEPT_FORMAT = frozenset({"\u200c", "\u200d"})
# A URL with a scheme, `www.` anything, an email address, or a host name: labels joined by
# dots (ASCII or full-width and ideographic ones) ending in a label of two letters or more in
# any script — `evil.com`, `pay.example.co.uk`, `مثال.السعودية`.
_DOT = r"[.\uff0e\u3002\uff61]"
_LINK = re.compile(
    rf"""
    [^\W_][\w+.-]*://\S*
    | www{_DOT}\S*
    | \S+@\S+
    | (?:[\w-]+{_DOT})+[^\W\d_]{{2,}}\S*
    """,
    re.IGNORECASE | re.VERBOSE,
)


def plain_name(name: str) -> str:
    """`name` on one line, without links, addresses or control characters."""
    printable = "".join(
        " " if unicodedata.category(ch).startswith("C") and ch not in _KEPT_FORMAT else ch
        for ch in name
    )
    return " ".join(_LINK.sub(" ", printable).split())

"""The page the verification link in the welcome email opens in a browser: the address is
verified (or why not), said in the account's language."""

from __future__ import annotations

from html import escape

from stride.identity.entrypoints.pages import html_page, security_headers
from stride.identity.service_layer.handlers import OpenedLink
from stride.platform.i18n import CATALOG, Locale, negotiate_locale

VERIFY_PAGE_HEADERS = security_headers()  # No script at all.


def render_verification_page(opened: OpenedLink, request_locale: Locale) -> str:
    """What opening the verification link did, in the account's language (the request's when
    the link is nobody's)."""
    language = negotiate_locale(opened.user.language_code) if opened.user else request_locale
    title = CATALOG.translate("verify_page.title", language)
    name = opened.user.display_name if opened.user else ""
    said = CATALOG.translate(f"verify_page.{opened.outcome.value}", language, {"name": name})
    body = f'<h1>{escape(title)}</h1>\n<p role="status">{escape(said)}</p>'
    return html_page(language, title, body)

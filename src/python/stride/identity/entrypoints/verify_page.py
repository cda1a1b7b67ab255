"""The page the verification link in the welcome email opens in a browser, in the account's
language: a form that confirms the address with the account's password (VerifyEmail, through
the same edge), or why the link no longer works. Opening it changes nothing: mail scanners
open links.
"""

from __future__ import annotations

from html import escape

from stride.identity.entrypoints.pages import html_page, security_headers
from stride.identity.service_layer.handlers import LinkOutcome, OpenedLink
from stride.platform.i18n import CATALOG, Locale, negotiate_locale

# The same on every page, so its hash in the Content-Security-Policy is a constant: what differs
# (the token, the language, the texts) it reads from the page.
VERIFY_SCRIPT = """
const form = document.getElementById("verify");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = document.getElementById("result");
  const reply = await fetch("/v1/users:verifyEmail", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-stride-locale": document.documentElement.lang,
    },
    body: JSON.stringify({token: form.dataset.token, password: form.password.value}),
  });
  result.textContent = reply.ok ? result.dataset.done : result.dataset.failed;
});
"""
VERIFY_PAGE_HEADERS = security_headers([VERIFY_SCRIPT])


def render_verification_page(token: str, opened: OpenedLink, request_locale: Locale) -> str:
    """The link's page, in the account's language (the request's when the link is nobody's)."""
    language = negotiate_locale(opened.user.language_code) if opened.user else request_locale
    title = CATALOG.translate("verify_page.title", language)
    name = opened.user.display_name if opened.user else ""
    said = CATALOG.translate(f"verify_page.{opened.outcome.value}", language, {"name": name})
    if opened.outcome is not LinkOutcome.OPEN:
        body = f'<h1>{escape(title)}</h1>\n<p role="status">{escape(said)}</p>'
        return html_page(language, title, body)
    texts = {
        key: escape(CATALOG.translate(f"verify_page.{key}", language, {"name": name}))
        for key in ("password", "submit", "done", "failed")
    }
    body = f"""<h1>{escape(title)}</h1>
<p>{escape(said)}</p>
<form id="verify" data-token="{escape(token, quote=True)}">
  <label>{texts["password"]} <input type="password" name="password" required
    autocomplete="current-password"></label>
  <button type="submit">{texts["submit"]}</button>
</form>
<p id="result" role="status" data-done="{texts["done"]}" data-failed="{texts["failed"]}"></p>"""
    return html_page(language, title, body, VERIFY_SCRIPT)

"""The page the "this wasn't me" link (emailed to an account's previous address after an email
change) opens, in the account's language (Arabic right-to-left).

Opening it changes nothing — mail scanners open links — its button posts the token to
RevertEmailChange through the same edge.
"""

from __future__ import annotations

from html import escape

from stride.identity.entrypoints.pages import html_page, security_headers

_TEXTS = {
    "en": {
        "title": "Take your Stride account back",
        "greeting": (
            "Hello {name}, your Stride account was moved to another email address. If it was"
            " not you, bring it back to this address: everyone signed in to it is signed out."
        ),
        "submit": "It wasn't me: bring my account back",
        "done": "Your account uses this address again. Now reset your password.",
        "failed": "That did not work. The link may have expired or been used.",
    },
    "ar": {
        "title": "استعد حسابك في Stride",
        "greeting": (
            "مرحبًا {name}، نُقل حسابك في Stride إلى بريد إلكتروني آخر. إن لم تكن أنت،"
            " فأعده إلى هذا العنوان: سيُسجَّل خروج كل من دخل إليه."
        ),
        "submit": "لم أكن أنا: أعد حسابي",
        "done": "عاد حسابك إلى هذا العنوان. أعد الآن تعيين كلمة مرورك.",
        "failed": "لم تنجح العملية. ربما انتهت صلاحية الرابط أو استُخدم من قبل.",
    },
}


# The same on every page, so its hash in the Content-Security-Policy is a constant: what differs
# (the token, the language, the texts) it reads from the page.
REVERT_SCRIPT = """
const form = document.getElementById("revert");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = document.getElementById("result");
  const reply = await fetch("/v1/users:revertEmailChange", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-stride-locale": document.documentElement.lang,
    },
    body: JSON.stringify({token: form.dataset.token}),
  });
  result.textContent = reply.ok ? result.dataset.done : result.dataset.failed;
});
"""
REVERT_PAGE_HEADERS = security_headers([REVERT_SCRIPT])


def render_revert_page(token: str, display_name: str, language: str) -> str:
    texts = _TEXTS.get(language, _TEXTS["en"])
    safe_token = escape(token, quote=True)
    body = f"""<h1>{escape(texts["title"])}</h1>
<p>{escape(texts["greeting"].format(name=display_name))}</p>
<form id="revert" data-token="{safe_token}">
  <button type="submit">{escape(texts["submit"])}</button>
</form>
<p id="result" role="status" data-done="{escape(texts["done"])}"
  data-failed="{escape(texts["failed"])}"></p>"""
    return html_page(language, texts["title"], body, REVERT_SCRIPT)

"""The page a password-reset link opens, in the account's language (Arabic right-to-left).

It offers the app (a `stride://` deep link carrying the token) and, for a browser, a form that
posts the new password to CompletePasswordReset through the same edge.
"""

from __future__ import annotations

from html import escape

from stride.identity.entrypoints.pages import html_page, security_headers

_TEXTS = {
    "en": {
        "title": "Choose a new password",
        "greeting": "Hello {name}, choose a new password for your Stride account.",
        "open_app": "Open in the Stride app",
        "password": "New password",
        "submit": "Save password",
        "done": "Your password was changed. Sign in again on your devices.",
        "failed": "That did not work. The link may have expired.",
    },
    "ar": {
        "title": "اختر كلمة مرور جديدة",
        "greeting": "مرحبًا {name}، اختر كلمة مرور جديدة لحسابك في Stride.",
        "open_app": "افتح في تطبيق Stride",
        "password": "كلمة المرور الجديدة",
        "submit": "حفظ كلمة المرور",
        "done": "تم تغيير كلمة المرور. سجّل الدخول مجددًا على أجهزتك.",
        "failed": "لم تنجح العملية. ربما انتهت صلاحية الرابط.",
    },
}


# The same on every page, so its hash in the Content-Security-Policy is a constant: what differs
# (the token, the language, the texts) it reads from the page.
RESET_SCRIPT = """
const form = document.getElementById("reset");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = document.getElementById("result");
  const reply = await fetch("/v1/users:completePasswordReset", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-stride-locale": document.documentElement.lang,
    },
    body: JSON.stringify({token: form.dataset.token, newPassword: form.newPassword.value}),
  });
  result.textContent = reply.ok ? result.dataset.done : result.dataset.failed;
});
"""
RESET_PAGE_HEADERS = security_headers([RESET_SCRIPT])


def render_reset_page(token: str, display_name: str, language: str) -> str:
    texts = _TEXTS.get(language, _TEXTS["en"])
    safe_token = escape(token, quote=True)
    body = f"""<h1>{texts["title"]}</h1>
<p>{escape(texts["greeting"].format(name=display_name))}</p>
<p><a href="stride://reset-password?token={safe_token}">{texts["open_app"]}</a></p>
<form id="reset" data-token="{safe_token}">
  <label>{texts["password"]} <input type="password" name="newPassword" minlength="10" required
    autocomplete="new-password"></label>
  <button type="submit">{texts["submit"]}</button>
</form>
<p id="result" role="status" data-done="{escape(texts["done"])}"
  data-failed="{escape(texts["failed"])}"></p>"""
    return html_page(language, texts["title"], body, RESET_SCRIPT)

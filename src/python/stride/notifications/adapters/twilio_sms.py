"""Text messages through Twilio's Programmable Messaging REST API
(https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).

    POST {api_base}/2010-04-01/Accounts/{account_sid}/Messages.json
         form: To=+9665…, From=+1…, Body=…        (HTTP Basic: account_sid, auth_token)
    201  {"sid": "SM…", "status": "queued", …}
    4xx  {"code": 21211, "message": "…", "more_info": "…", "status": 400}

A 429 or 5xx, or no answer, means try again later. Refused credentials (401/403) also go back
in line: nothing was sent, and the key is what needs fixing. Any other 4xx is final: an
invalid or landline number (21211, 21614), a recipient who texted STOP (21610). The API base is
configuration, so tests point it at a local server; the auth token never reaches a log, nor
does an error's message, which quotes the recipient's number: only its code is logged.
"""

from __future__ import annotations

import base64
import json
import logging

import aiohttp

from stride.notifications.domain.notifications import SendOutcome, Sms
from stride.platform.http_client import HttpClient

_log = logging.getLogger("stride.notifications.sms")


class TwilioSms(HttpClient):
    def __init__(
        self,
        api_base: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        super().__init__(timeout_seconds)
        self._url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._headers = {"authorization": f"Basic {credentials}"}  # HTTP Basic (RFC 7617).
        self._sender = sender

    async def send(self, sms: Sms) -> SendOutcome:
        form = {"To": sms.to, "From": self._sender, "Body": sms.body}
        try:
            async with self._http().post(self._url, data=form, headers=self._headers) as reply:
                status, error = reply.status, await reply.text()
        except (aiohttp.ClientError, TimeoutError) as failure:
            _log.warning("Twilio unreachable: %s", type(failure).__name__)
            return SendOutcome.RETRY
        if 200 <= status < 300:
            return SendOutcome.SENT
        _log.warning("Twilio answered %s, error %s", status, _error_code(error))
        if status in (401, 403, 429) or status >= 500:
            return SendOutcome.RETRY
        return SendOutcome.REFUSED


def _error_code(body: str) -> str:
    """Twilio's error code (21211, 21610…) from an error body, or `unknown`."""
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return "unknown"
    return str(code) if isinstance(code, int) else "unknown"

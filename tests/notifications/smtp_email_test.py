"""The SMTP adapter against a real SMTP server (aiosmtpd): what its answers mean."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from stride.notifications.adapters.smtp_email import SmtpEmail
from stride.notifications.domain.notifications import DeliveryState, Email, SendOutcome
from stride.platform.local.ports import free_port


class Answering:
    """Answers every message with the reply it is given."""

    def __init__(self) -> None:
        self.reply = "250 OK"
        self.received: list[Envelope] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name.
        self, server: object, session: object, envelope: Envelope
    ) -> str:
        self.received.append(envelope)
        return self.reply


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Answering, int]]:
    handler, port = Answering(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def an_email() -> Email:
    return Email(
        uuid.uuid4(),
        uuid.uuid4(),
        "member@example.com",
        "en",
        "Subject",
        "Text",
        "<p>HTML</p>",
        DeliveryState.SENDING,
        0,
        datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("250 OK", SendOutcome.SENT),
        ("451 Try again later", SendOutcome.RETRY),
        ("550 No such mailbox", SendOutcome.REFUSED),
    ],
)
async def test_the_server_s_answer_decides_what_happens_next(
    server: tuple[Answering, int], reply: str, outcome: SendOutcome
) -> None:
    handler, port = server
    handler.reply = reply
    mailer = SmtpEmail("127.0.0.1", port, "Stride <no-reply@stride.test>")
    assert await mailer.send(an_email()) is outcome


async def test_an_unreachable_server_is_tried_again_later() -> None:
    mailer = SmtpEmail("127.0.0.1", free_port(), "Stride <no-reply@stride.test>")
    assert await mailer.send(an_email()) is SendOutcome.RETRY

"""How the sender treats what a real SMTP server answers (aiosmtpd on a spare port)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from comptoir_common.events import v1


class Scripted:
    """Answers RCPT and DATA as told, and counts the messages it accepted."""

    def __init__(self, rcpt: str = "250 OK", data: str | None = "250 OK") -> None:
        self.rcpt = rcpt
        self.data = data
        self.accepted = 0
        self.data_seen = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_seen += 1
        if self.data is None:
            # The message arrived but the answer never leaves: the connection drops.
            assert server.transport is not None
            server.transport.abort()
            return "250 OK"
        if self.data.startswith("250"):
            self.accepted += 1
        return self.data


@pytest.fixture
def smtp_server(unused_port: int) -> Iterator[Any]:
    controllers: list[Controller] = []

    def start(handler: Scripted) -> int:
        controller = Controller(handler, hostname="127.0.0.1", port=unused_port)
        controller.start()
        controllers.append(controller)
        return unused_port

    yield start
    for controller in controllers:
        controller.stop()


async def _one_confirmation(consumers, booking, to_wire) -> None:
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))


async def test_permanent_refusal_fails_at_once(
    consumers, sender, booking, rows, to_wire, smtp_server
) -> None:
    handler = Scripted(rcpt="550 5.1.1 mailbox unavailable")
    sender.settings = sender.settings.model_copy(update={"smtp_port": smtp_server(handler)})
    await _one_confirmation(consumers, booking, to_wire)

    assert await sender.send_due() == 1
    [visitor] = [r for r in await rows() if r.recipient_kind == "visitor"]
    assert (visitor.status, visitor.attempts) == ("FAILED", 1)
    assert "550" in (visitor.error or "")
    assert handler.data_seen == 0


async def test_temporary_refusal_is_retried_until_accepted(
    consumers, sender, booking, rows, to_wire, smtp_server
) -> None:
    handler = Scripted(data="451 4.3.0 try again later")
    sender.settings = sender.settings.model_copy(update={"smtp_port": smtp_server(handler)})
    await _one_confirmation(consumers, booking, to_wire)

    assert await sender.send_due() == 1
    [visitor] = [r for r in await rows() if r.recipient_kind == "visitor"]
    assert (visitor.status, visitor.attempts) == ("PENDING", 1)
    assert "451" in (visitor.error or "")

    handler.data = "250 OK"
    assert await sender.send_due() == 1
    [visitor] = [r for r in await rows() if r.recipient_kind == "visitor"]
    assert (visitor.status, visitor.attempts, visitor.error) == ("SENT", 2, None)
    assert handler.accepted == 1


async def test_connection_lost_during_data_is_unknown_and_not_retried(
    consumers, sender, booking, rows, to_wire, smtp_server
) -> None:
    handler = Scripted(data=None)
    sender.settings = sender.settings.model_copy(update={"smtp_port": smtp_server(handler)})
    await _one_confirmation(consumers, booking, to_wire)

    assert await sender.send_due() == 1
    [visitor] = [r for r in await rows() if r.recipient_kind == "visitor"]
    assert (visitor.status, visitor.attempts) == ("UNKNOWN", 1)
    assert "during DATA" in (visitor.error or "")
    assert handler.data_seen == 1

    handler.data = "250 OK"
    assert await sender.send_due() == 0
    assert handler.data_seen == 1

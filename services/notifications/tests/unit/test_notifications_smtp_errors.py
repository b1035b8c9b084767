"""What an SMTP failure means for a mail sent at most once."""

from __future__ import annotations

import pytest
from aiosmtplib.errors import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPDataError,
    SMTPReadTimeoutError,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
)

from comptoir_notifications.sender import classify


@pytest.mark.parametrize(
    ("exc", "data_started", "verdict"),
    [
        (SMTPResponseException(421, "try later"), False, "TEMPORARY"),
        (SMTPDataError(451, "local error"), True, "TEMPORARY"),
        (SMTPDataError(554, "rejected"), True, "PERMANENT"),
        (SMTPAuthenticationError(535, "bad credentials"), False, "TEMPORARY"),
        (SMTPRecipientsRefused([SMTPRecipientRefused(450, "busy", "a@b.c")]), False, "TEMPORARY"),
        (SMTPRecipientsRefused([SMTPRecipientRefused(550, "none", "a@b.c")]), False, "PERMANENT"),
        (SMTPConnectError("refused"), False, "TEMPORARY"),
        (ConnectionRefusedError(111, "refused"), False, "TEMPORARY"),
        (SMTPServerDisconnected("lost"), False, "TEMPORARY"),
        (SMTPServerDisconnected("lost"), True, "UNKNOWN"),
        (SMTPReadTimeoutError("slow"), True, "UNKNOWN"),
        (TimeoutError(), True, "UNKNOWN"),
        (TimeoutError(), False, "TEMPORARY"),
        (ValueError("no sender"), False, "PERMANENT"),
    ],
)
def test_classify(exc: BaseException, data_started: bool, verdict: str) -> None:
    assert classify(exc, data_started=data_started).verdict == verdict


def test_log_kind_never_quotes_the_server_answer() -> None:
    outcome = classify(
        SMTPRecipientsRefused([SMTPRecipientRefused(550, "no <marie@example.org>", "x")]),
        data_started=False,
    )
    assert "marie" in outcome.detail
    assert "marie" not in outcome.kind

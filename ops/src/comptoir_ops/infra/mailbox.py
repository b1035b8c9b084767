"""A mail catcher: SMTP on 127.0.0.1:1025, messages kept as .eml files, read over HTTP on :8025.

HTTP API:
    GET    /api/messages        JSON list of {id, from, to, subject, date}, newest last
    GET    /api/messages/<id>   the raw RFC 822 message
    DELETE /api/messages        delete every message

Run with ``python -m comptoir_ops.infra.mailbox``, or ``Mailbox().start()`` under procs.py.
"""

from __future__ import annotations

import email.policy
import itertools
import json
import os
import re
import signal
import sys
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from .base import ProcessComponent, Progress, quiet
from .paths import local_dir

HOST = "127.0.0.1"
SMTP_PORT = 1025
HTTP_PORT = 8025
API_BASE = f"http://{HOST}:{HTTP_PORT}"
_ID = re.compile(r"^[0-9T]+-[0-9]+$")


def mail_dir() -> Path:
    return local_dir("mail")


def _parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


_summaries: dict[str, dict[str, Any]] = {}
_summaries_lock = threading.Lock()


def _summary(path: Path) -> dict[str, Any]:
    # Headers only: the bodies (QR images, calendars) are not needed for a listing.
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(path.read_bytes())
    return {
        "id": path.stem,
        "from": str(headers.get("From") or headers.get("X-MailFrom", "")),
        "to": [r.strip() for r in str(headers.get("X-RcptTo", "")).split(",") if r.strip()],
        "subject": str(headers.get("Subject", "")),
        "date": str(headers.get("Date", "")),
    }


def _stored_summaries() -> list[dict[str, Any]]:
    """The catcher's side: summaries of the stored messages, oldest first.

    A message file is written once (renamed into place) and never changed, so each one is
    read once and its summary kept: listing stays cheap however often tests poll it.
    """
    paths = sorted(mail_dir().glob("*.eml"))
    with _summaries_lock:
        present = {path.name for path in paths}
        for gone in set(_summaries) - present:
            del _summaries[gone]
        summaries = []
        for path in paths:
            summary = _summaries.get(path.name)
            if summary is None:
                try:
                    summary = _summaries[path.name] = _summary(path)
                except FileNotFoundError:  # deleted meanwhile
                    continue
            summaries.append(summary)
        return summaries


def _message_path(message_id: str) -> Path:
    if not _ID.match(message_id):
        raise KeyError(message_id)
    path = mail_dir() / f"{message_id}.eml"
    if not path.exists():
        raise KeyError(message_id)
    return path


def _clear_stored() -> int:
    paths = list(mail_dir().glob("*.eml"))
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)


# The readers' side goes through the catcher's HTTP API, never its folder: the catcher
# that runs may have been started from another checkout, with its folder elsewhere.


def _api(method: str, path: str) -> bytes:
    answer = httpx.request(method, API_BASE + path, timeout=10, trust_env=False)
    if answer.status_code == 404:
        raise KeyError(path)
    answer.raise_for_status()
    return answer.content


def list_messages() -> list[dict[str, Any]]:
    """Summaries of the captured messages, oldest first (from the running catcher)."""
    summaries: list[dict[str, Any]] = json.loads(_api("GET", "/api/messages"))
    return summaries


def read_message(message_id: str) -> EmailMessage:
    """One captured message, parsed; KeyError if there is no such id."""
    if not _ID.match(message_id):
        raise KeyError(message_id)
    return _parse(_api("GET", f"/api/messages/{message_id}"))


def clear_messages() -> int:
    """Delete every captured message; how many there were."""
    answer: dict[str, int] = json.loads(_api("DELETE", "/api/messages"))
    return answer["deleted"]


class _Store:
    """aiosmtpd handler writing each message, with its envelope, to ``<timestamp>-<n>.eml``."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        envelope_headers = (
            f"X-MailFrom: {envelope.mail_from}\r\nX-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = mail_dir() / f"{stamp}-{next(self._counter)}.eml"
        partial = target.with_suffix(".tmp")
        partial.write_bytes(envelope_headers + content)
        partial.rename(target)
        return "250 Message accepted for delivery"


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/api/messages":
            self._send(200, "application/json", json.dumps(_stored_summaries()).encode())
            return
        prefix = "/api/messages/"
        if self.path.startswith(prefix):
            try:
                raw = _message_path(self.path[len(prefix) :]).read_bytes()
            except KeyError:
                self._send(404, "application/json", b'{"detail": "no such message"}')
                return
            self._send(200, "message/rfc822", raw)
            return
        self._send(404, "application/json", b'{"detail": "not found"}')

    def do_DELETE(self) -> None:
        if self.path.rstrip("/") == "/api/messages":
            self._send(200, "application/json", json.dumps({"deleted": _clear_stored()}).encode())
            return
        self._send(404, "application/json", b'{"detail": "not found"}')

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def serve() -> None:
    """Run SMTP and HTTP until SIGTERM or SIGINT."""
    smtp = Controller(_Store(), hostname=HOST, port=SMTP_PORT)
    smtp.start()
    http = ThreadingHTTPServer((HOST, HTTP_PORT), _Api)

    def shutdown(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=http.shutdown).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    print(
        f"mailbox: SMTP on {HOST}:{SMTP_PORT}, HTTP on {API_BASE}, storing in {mail_dir()}",
        flush=True,
    )
    try:
        http.serve_forever()
    finally:
        http.server_close()
        smtp.stop()


class Mailbox(ProcessComponent):
    name = "mailbox"
    endpoint = f"smtp://{HOST}:{SMTP_PORT} {API_BASE}"

    def install(self, progress: Progress = quiet) -> None:
        """Nothing to install: aiosmtpd comes with the project's requirements."""

    def command(self) -> list[str]:
        # Not `-m`: the package __init__ already imports this module, which runpy warns about.
        return [sys.executable, "-c", "from comptoir_ops.infra.mailbox import serve; serve()"]

    def environment(self) -> dict[str, str]:
        src = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
        return {"PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{API_BASE}/api/messages", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


if __name__ == "__main__":
    serve()

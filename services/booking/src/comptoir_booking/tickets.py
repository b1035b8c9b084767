"""Ticket codes: what the e-ticket's QR code holds and what staff type at the door.

``CPT-`` then the reservation id (16 bytes) and the first 10 bytes of
HMAC-SHA256(secret, reservation id), written in Crockford's base32 (digits and capital
letters without I, L, O, U) in groups of six::

    CPT-0G5K2M-...-7Q3ZXA   (42 symbols, 7 groups)

Nobody can make a valid code without the secret (80 bits of signature), and the code
alone is enough to find the reservation. Typing is forgiving: lower case is read as
upper case, ``I``/``L`` as ``1``, ``O`` as ``0``, and dashes, spaces and the ``CPT``
prefix are optional. Only uppercase letters, digits and ``-``: the QR code uses its
compact alphanumeric mode. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from comptoir_common.problems import Problem

PREFIX = "CPT"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SIGNATURE_BYTES = 10
PAYLOAD_BYTES = 16 + SIGNATURE_BYTES
#: 26 bytes = 208 bits, padded to 210 bits: 42 symbols of 5 bits.
SYMBOLS = -(-PAYLOAD_BYTES * 8 // 5)
GROUP = 6

_DECODE = {c: i for i, c in enumerate(ALPHABET)} | {"I": 1, "L": 1, "O": 0}


class InvalidTicket(Problem):
    def __init__(self) -> None:
        super().__init__(422, "This is not a valid ticket.", kind="invalid-ticket")


def _signature(secret: bytes, reservation_id: uuid.UUID) -> bytes:
    return hmac.new(secret, reservation_id.bytes, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def ticket_code(secret: bytes, reservation_id: uuid.UUID) -> str:
    """The signed code of a reservation's ticket, always the same for one reservation."""
    number = int.from_bytes(reservation_id.bytes + _signature(secret, reservation_id))
    symbols = []
    for _ in range(SYMBOLS):
        number, digit = divmod(number, 32)
        symbols.append(ALPHABET[digit])
    body = "".join(reversed(symbols))
    groups = [body[i : i + GROUP] for i in range(0, len(body), GROUP)]
    return "-".join([PREFIX, *groups])


def normalise(code: str) -> str:
    """The symbols of a code as typed or scanned: case, separators and prefix ignored."""
    cleaned = "".join(c for c in code.upper() if c not in "- \t\r\n")
    return cleaned.removeprefix(PREFIX)


def read_ticket(secret: bytes, code: str) -> uuid.UUID:
    """The reservation a code opens; ``InvalidTicket`` (422) unless its signature holds."""
    symbols = normalise(code)
    if len(symbols) != SYMBOLS or any(c not in _DECODE for c in symbols):
        raise InvalidTicket()
    number = 0
    for c in symbols:
        number = number * 32 + _DECODE[c]
    if number >> (PAYLOAD_BYTES * 8):  # the two padding bits are always zero
        raise InvalidTicket()
    payload = number.to_bytes(PAYLOAD_BYTES)
    reservation_id = uuid.UUID(bytes=payload[:16])
    if not hmac.compare_digest(payload[16:], _signature(secret, reservation_id)):
        raise InvalidTicket()
    return reservation_id

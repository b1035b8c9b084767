from __future__ import annotations

import uuid

import pytest

from comptoir_booking.tickets import ALPHABET, InvalidTicket, read_ticket, ticket_code

SECRET = b"test-ticket-secret"


def test_a_code_reads_back_to_its_reservation() -> None:
    for _ in range(200):
        reservation_id = uuid.uuid4()
        code = ticket_code(SECRET, reservation_id)
        assert read_ticket(SECRET, code) == reservation_id


def test_the_code_is_grouped_without_ambiguous_characters() -> None:
    code = ticket_code(SECRET, uuid.uuid4())
    prefix, *groups = code.split("-")
    assert prefix == "CPT"
    assert len(groups) == 7 and all(len(g) == 6 for g in groups)
    assert set("".join(groups)) <= set(ALPHABET)
    assert not set("ILOU") & set("".join(groups))
    assert ticket_code(SECRET, uuid.UUID(int=0)) == ticket_code(SECRET, uuid.UUID(int=0))


def test_typing_is_case_and_separator_insensitive() -> None:
    reservation_id = uuid.uuid4()
    code = ticket_code(SECRET, reservation_id)
    body = code.removeprefix("CPT-")
    for typed in (
        code.lower(),
        body.replace("-", ""),
        " ".join(body.split("-")).lower(),
        f"  {code}\n",
        body.replace("0", "o").replace("1", "l"),
    ):
        assert read_ticket(SECRET, typed) == reservation_id


def test_every_changed_character_is_refused() -> None:
    code = ticket_code(SECRET, uuid.uuid4())
    for position, char in enumerate(code):
        if char not in ALPHABET or position < 4:
            continue
        for other in ALPHABET[:6]:
            if other == char:
                continue
            forged = code[:position] + other + code[position + 1 :]
            with pytest.raises(InvalidTicket) as refused:
                read_ticket(SECRET, forged)
            assert refused.value.status == 422


@pytest.mark.parametrize("code", ["", "CPT-", "hello", "CPT-" + "Z" * 42, "CPT-" + "0" * 41])
def test_garbage_is_not_a_ticket(code: str) -> None:
    with pytest.raises(InvalidTicket):
        read_ticket(SECRET, code)


def test_another_secret_refuses_the_code() -> None:
    code = ticket_code(SECRET, uuid.uuid4())
    with pytest.raises(InvalidTicket):
        read_ticket(b"another-secret", code)


def test_production_refuses_the_development_ticket_secret() -> None:
    from comptoir_booking.main import BookingSettings

    found = BookingSettings().development_defaults_in_use()
    assert any(name.startswith("COMPTOIR_TICKET_SECRET") for name in found)
    chosen = BookingSettings(ticket_secret="a-real-secret-from-the-vault")  # type: ignore[arg-type]
    assert not any(
        n.startswith("COMPTOIR_TICKET_SECRET") for n in chosen.development_defaults_in_use()
    )

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from comptoir_common.auth import (
    OFFICE_ISSUER,
    VISITOR_ISSUER,
    TokenIssuer,
    TokenVerifier,
    generate_key_pair,
)
from comptoir_common.problems import Problem


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    for name in ("office", "visitor", "rogue"):
        generate_key_pair(folder / f"{name}.pem", folder / f"{name}.pub.pem")
    return {p.stem: p for p in folder.iterdir()}


@pytest.fixture(scope="module")
def verifier(keys: dict[str, Path]) -> TokenVerifier:
    return TokenVerifier(
        {OFFICE_ISSUER: str(keys["office.pub"]), VISITOR_ISSUER: str(keys["visitor.pub"])}
    )


def test_an_admin_token_scopes_one_territory(
    keys: dict[str, Path], verifier: TokenVerifier
) -> None:
    territory = uuid.uuid4()
    token = TokenIssuer(str(keys["office"]), OFFICE_ISSUER).issue(
        role="admin", subject="staff", territory_id=territory
    )
    principal = verifier.verify(token)
    assert principal.role == "admin" and principal.territory_id == territory
    assert principal.sees_provider(uuid.uuid4(), territory)
    assert not principal.sees_provider(uuid.uuid4(), uuid.uuid4())


def test_a_provider_sees_only_itself(keys: dict[str, Path], verifier: TokenVerifier) -> None:
    territory, provider = uuid.uuid4(), uuid.uuid4()
    token = TokenIssuer(str(keys["office"]), OFFICE_ISSUER).issue(
        role="provider", subject="p", territory_id=territory, provider_id=provider
    )
    principal = verifier.verify(token)
    assert principal.sees_reservation(uuid.uuid4(), provider, territory)
    assert not principal.sees_reservation(uuid.uuid4(), uuid.uuid4(), territory)


def test_a_visitor_token_opens_one_reservation(
    keys: dict[str, Path], verifier: TokenVerifier
) -> None:
    territory, reservation = uuid.uuid4(), uuid.uuid4()
    token = TokenIssuer(str(keys["visitor"]), VISITOR_ISSUER).issue(
        role="visitor", subject="v", territory_id=territory, reservation_id=reservation
    )
    principal = verifier.verify(token)
    assert principal.sees_reservation(reservation, uuid.uuid4(), territory)
    assert not principal.sees_reservation(uuid.uuid4(), uuid.uuid4(), territory)


def test_an_issuer_cannot_mint_the_other_issuers_roles(keys: dict[str, Path]) -> None:
    with pytest.raises(ValueError):
        TokenIssuer(str(keys["visitor"]), VISITOR_ISSUER).issue(
            role="admin", subject="x", territory_id=uuid.uuid4()
        )


@pytest.mark.parametrize("case", ["rogue-key", "expired", "tampered", "garbage", "wrong-role"])
def test_bad_tokens_answer_401(keys: dict[str, Path], verifier: TokenVerifier, case: str) -> None:
    territory = uuid.uuid4()
    if case == "rogue-key":
        token = TokenIssuer(str(keys["rogue"]), OFFICE_ISSUER).issue(
            role="admin", subject="x", territory_id=territory
        )
    elif case == "expired":
        token = TokenIssuer(str(keys["office"]), OFFICE_ISSUER).issue(
            role="admin", subject="x", territory_id=territory, ttl=timedelta(seconds=-1)
        )
    elif case == "tampered":
        good = TokenIssuer(str(keys["office"]), OFFICE_ISSUER).issue(
            role="provider", subject="x", territory_id=territory, provider_id=uuid.uuid4()
        )
        header, _, signature = good.split(".")
        claims = jwt.decode(good, options={"verify_signature": False})
        claims["role"] = "admin"
        forged = jwt.encode(claims, "k" * 32, algorithm="HS256").split(".")[1]
        token = f"{header}.{forged}.{signature}"
    elif case == "wrong-role":
        # a visitor role signed with the visitor key but claiming the office issuer
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(keys["visitor"].read_bytes(), password=None)
        token = jwt.encode(
            {
                "iss": OFFICE_ISSUER,
                "aud": "comptoir",
                "sub": "x",
                "role": "admin",
                "territory_id": str(territory),
                "iat": 0,
                "exp": 4102444800,
            },
            key,  # type: ignore[arg-type]
            algorithm="EdDSA",
        )
    else:
        token = "not.a.token"
    with pytest.raises(Problem) as caught:
        verifier.verify(token)
    assert caught.value.status == 401

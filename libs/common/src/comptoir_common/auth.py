"""Bearer tokens: Ed25519-signed JWTs (PyJWT).

Two issuers, each holding its own private key; every service holds only public keys:
- the office issuer (the operator's ``comptoir token`` command, later a sign-in
  service) signs ``admin`` tokens scoped to one territory and ``provider`` tokens scoped
  to one provider;
- the booking service signs ``visitor`` tokens scoped to one reservation, returned when
  the reservation is created.

A token from one issuer can never carry a role of the other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from comptoir_common.problems import Problem
from comptoir_common.settings import read_pem

AUDIENCE = "comptoir"
OFFICE_ISSUER = "comptoir-office"
VISITOR_ISSUER = "comptoir-booking"
ALGORITHM = "EdDSA"

Role = Literal["admin", "provider", "visitor"]
ROLES_BY_ISSUER: dict[str, set[str]] = {
    OFFICE_ISSUER: {"admin", "provider"},
    VISITOR_ISSUER: {"visitor"},
}


@dataclass(frozen=True)
class Principal:
    role: Role
    subject: str
    territory_id: uuid.UUID
    provider_id: uuid.UUID | None = None
    reservation_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees_territory(self, territory_id: uuid.UUID) -> bool:
        return self.territory_id == territory_id

    def sees_provider(self, provider_id: uuid.UUID, territory_id: uuid.UUID) -> bool:
        """Office staff see their territory's providers; a provider sees itself."""
        if not self.sees_territory(territory_id):
            return False
        return self.is_admin or (self.role == "provider" and self.provider_id == provider_id)

    def sees_reservation(
        self, reservation_id: uuid.UUID, provider_id: uuid.UUID, territory_id: uuid.UUID
    ) -> bool:
        if self.role == "visitor":
            return self.reservation_id == reservation_id and self.sees_territory(territory_id)
        return self.sees_provider(provider_id, territory_id)


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new Ed25519 key pair as PEM files (private key readable by owner only)."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


class TokenIssuer:
    def __init__(self, private_key_pem: str, issuer: str) -> None:
        self.key = serialization.load_pem_private_key(read_pem(private_key_pem), password=None)
        self.issuer = issuer

    def issue(
        self,
        *,
        role: Role,
        subject: str,
        territory_id: uuid.UUID,
        provider_id: uuid.UUID | None = None,
        reservation_id: uuid.UUID | None = None,
        ttl: timedelta = timedelta(hours=12),
    ) -> str:
        if role not in ROLES_BY_ISSUER[self.issuer]:
            raise ValueError(f"issuer {self.issuer} cannot issue {role} tokens")
        if role == "provider" and provider_id is None:
            raise ValueError("a provider token needs a provider id")
        if role == "visitor" and reservation_id is None:
            raise ValueError("a visitor token needs a reservation id")
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "role": role,
            "territory_id": str(territory_id),
            "iat": now,
            "exp": now + ttl,
        }
        if provider_id:
            claims["provider_id"] = str(provider_id)
        if reservation_id:
            claims["reservation_id"] = str(reservation_id)
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)  # type: ignore[arg-type]


class TokenVerifier:
    def __init__(self, public_keys: dict[str, str]) -> None:
        """``public_keys`` maps an issuer to its public key (PEM text or file path)."""
        self.keys = {
            issuer: serialization.load_pem_public_key(read_pem(pem))
            for issuer, pem in public_keys.items()
        }

    def verify(self, token: str) -> Principal:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = str(unverified.get("iss", ""))
            key = self.keys.get(issuer)
            if key is None:
                raise jwt.InvalidIssuerError("unknown issuer")
            claims = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            role = claims["role"]
            if role not in ROLES_BY_ISSUER[issuer]:
                raise jwt.InvalidTokenError("role not allowed for issuer")
            return Principal(
                role=role,
                subject=claims["sub"],
                territory_id=uuid.UUID(claims["territory_id"]),
                provider_id=_opt_uuid(claims.get("provider_id")),
                reservation_id=_opt_uuid(claims.get("reservation_id")),
            )
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise Problem(
                401,
                f"The bearer token is not valid: {exc}",
                kind="unauthorized",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc


def _opt_uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


_bearer = HTTPBearer(auto_error=False, description="A Comptoir token (admin, provider or visitor)")

# The dependencies below are ``async`` although they never wait: FastAPI runs plain
# ``def`` dependencies in a worker thread, a thread hop per request for nothing.


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    return _verifier(request).verify(credentials.credentials)


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Problem(
            401,
            "This endpoint needs a bearer token.",
            kind="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


async def require_staff(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    """Office staff or a provider: visitor tokens only open their own reservation."""
    if principal.role == "visitor":
        raise Problem(403, "A visitor token cannot do this.", kind="forbidden")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_admin:
        raise Problem(403, "Only the tourism office's staff can do this.", kind="forbidden")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
StaffPrincipal = Annotated[Principal, Depends(require_staff)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]

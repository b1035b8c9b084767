"""Tokens signed with the office issuer's key (held by the operator, never by a service)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from comptoir_common.auth import OFFICE_ISSUER, Role, TokenIssuer
from comptoir_ops.keys import ensure_dev_keys, keys_dir


def office_token(
    *,
    role: Role,
    territory_id: uuid.UUID,
    provider_id: uuid.UUID | None = None,
    subject: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    key = os.environ.get("COMPTOIR_AUTH_OFFICE_PRIVATE_KEY")
    if key is None:
        ensure_dev_keys()
        key = str(keys_dir() / "office.pem")
    issuer = TokenIssuer(key, OFFICE_ISSUER)
    return issuer.issue(
        role=role,
        subject=subject or (f"provider:{provider_id}" if provider_id else "office-staff"),
        territory_id=territory_id,
        provider_id=provider_id,
        ttl=ttl,
    )

"""Development signing keys, made once per checkout under ``.local/keys``."""

from __future__ import annotations

from pathlib import Path

from comptoir_common.auth import generate_key_pair
from comptoir_ops.infra.paths import local_dir


def keys_dir() -> Path:
    return local_dir("keys")


def ensure_dev_keys() -> list[str]:
    """The office issuer's and the visitor issuer's key pairs; never overwritten."""
    made = []
    for name in ("office", "visitor"):
        private, public = keys_dir() / f"{name}.pem", keys_dir() / f"{name}.pub.pem"
        if not private.exists() or not public.exists():
            generate_key_pair(private, public)
            made.append(name)
    return made

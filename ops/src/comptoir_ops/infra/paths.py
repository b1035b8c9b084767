"""Where Comptoir keeps downloads (.cache) and runtime state (.local)."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The folder holding ``ops/``: ``$COMPTOIR_HOME`` if set, else found from this file."""
    home = os.environ.get("COMPTOIR_HOME")
    if home:
        return Path(home).resolve()
    # <root>/ops/src/comptoir_ops/infra/paths.py
    return Path(__file__).resolve().parents[4]


def ops_dir() -> Path:
    return project_root() / "ops"


def cache_dir(*parts: str) -> Path:
    """Downloads and builds, kept across runs: ``<root>/.cache/...``."""
    return _ensure(project_root().joinpath(".cache", *parts))


def local_dir(*parts: str) -> Path:
    """Runtime data, logs and pid files: ``<root>/.local/...``."""
    return _ensure(project_root().joinpath(".local", *parts))


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path

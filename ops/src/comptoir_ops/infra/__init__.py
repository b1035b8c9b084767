"""Local infrastructure for Comptoir: install, start, probe and stop every backing service.

Usage::

    from comptoir_ops import infra

    infra.up(print)  # install what is missing, start what is not running, wait until ready
    infra.status()  # one dict per component
    infra.down(print)  # stop what we started (never a PostgreSQL or Redis we found running)
"""

from __future__ import annotations

import time
from typing import Any

from .base import Component, InfraError, Progress, quiet
from .browser import axe_script_path, chromium_path
from .collector import Collector, clear_spans, read_spans
from .kafka import Kafka, delete_topics, ensure_topics, list_topics
from .mailbox import Mailbox, clear_messages, list_messages, read_message
from .postgres import (
    Postgres,
    database_url,
    drop_comptoir_databases,
    drop_database,
    ensure_database_of,
    ensure_databases,
    recreate_database,
)
from .procs import log_path, process_status, start_process, stop_process
from .redis import Redis
from .stripe_mock import StripeMock

COMPONENTS: list[Component] = [Postgres(), Redis(), Kafka(), StripeMock(), Collector(), Mailbox()]


def get(name: str) -> Component:
    for component in COMPONENTS:
        if component.name == name:
            return component
    raise KeyError(f"no component named {name!r}; known: {', '.join(c.name for c in COMPONENTS)}")


def up(progress: Progress = quiet, timeout: float = 120, *, browser: bool = False) -> list[str]:
    """Install what is missing, start what is not, wait until all answer; the names started.

    ``browser``: also install the Chromium the browser tests drive, and fetch the
    accessibility engine they run in pages.
    """
    for component in COMPONENTS:
        component.install(progress)
    if browser:
        chromium_path(progress)
        axe_script_path(progress)
    started = []
    for component in COMPONENTS:
        if component.start():
            progress(f"started {component.name} on {component.endpoint}")
            started.append(component.name)
    deadline = time.monotonic() + timeout
    for component in COMPONENTS:
        component.wait_ready(max(deadline - time.monotonic(), 1))
        progress(f"{component.name} ready")
    return started


def down(progress: Progress = quiet) -> list[str]:
    """Stop, in reverse order, what we started; the names stopped."""
    stopped = []
    for component in reversed(COMPONENTS):
        if component.stop():
            progress(f"stopped {component.name}")
            stopped.append(component.name)
        elif component.is_ready():
            progress(f"left {component.name} running (not started by comptoir)")
    return stopped


def status() -> list[dict[str, Any]]:
    return [component.status() for component in COMPONENTS]


__all__ = [
    "COMPONENTS",
    "Collector",
    "Component",
    "InfraError",
    "Kafka",
    "Mailbox",
    "Postgres",
    "Progress",
    "Redis",
    "StripeMock",
    "axe_script_path",
    "chromium_path",
    "clear_messages",
    "clear_spans",
    "database_url",
    "delete_topics",
    "down",
    "drop_comptoir_databases",
    "drop_database",
    "ensure_database_of",
    "ensure_databases",
    "ensure_topics",
    "get",
    "list_messages",
    "list_topics",
    "log_path",
    "process_status",
    "read_message",
    "read_spans",
    "recreate_database",
    "start_process",
    "status",
    "stop_process",
    "up",
]

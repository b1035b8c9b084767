"""The Comptoir service processes, run locally on loopback.

``Platform()`` is what ``comptoir up`` runs (ports 8001-8004, databases
``comptoir_<service>``; the web storefront on 8000, which has no database). Tests build
their own isolated ``Platform`` with other ports, their own databases and a Kafka
namespace, so they never disturb a running demo.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from comptoir_common.events import ALL_TOPICS
from comptoir_ops.infra import (
    delete_topics,
    ensure_databases,
    ensure_topics,
    log_path,
    process_status,
    recreate_database,
    start_process,
    stop_process,
)
from comptoir_ops.infra.paths import local_dir, project_root
from comptoir_ops.keys import ensure_dev_keys

SERVICES: dict[str, int] = {
    "catalog": 8001,
    "booking": 8002,
    "payments": 8003,
    "notifications": 8004,
    "web": 8000,
}
#: Services that keep no state of their own: they only call the others' public APIs.
WITHOUT_DATABASE = frozenset({"web"})
OTLP_ENDPOINT = "http://127.0.0.1:4318"
#: The demo tourism office's address: a sign-in link asked for it opens the office console
#: (the mail lands in the local mail catcher).
OFFICE_STAFF_EMAIL = "accueil@office-serre-poncon.example"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Platform:
    #: Prefix of process names (pid and log files) and of databases.
    label: str = ""
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    kafka_namespace: str = ""
    partitions: int = 3
    env: dict[str, str] = field(default_factory=dict)

    def process_name(self, service: str) -> str:
        return f"{self.label}{service}"

    def database(self, service: str) -> str:
        return f"comptoir_{self.label.replace('-', '_')}{service}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def topics(self) -> list[str]:
        return [self.kafka_namespace + t for t in ALL_TOPICS]

    def prepare(self, progress: Progress = _quiet, *, fresh: bool = False) -> None:
        """Keys, one database per service, and every topic with its dead-letter twin."""
        ensure_dev_keys()
        names = [self.database(s) for s in self.ports if s not in WITHOUT_DATABASE]
        if fresh:
            for name in names:
                recreate_database(name)
        else:
            ensure_databases(names)
        progress(f"databases ready: {', '.join(names)}")
        created = ensure_topics(self.topics(), self.partitions)
        progress(f"topics ready ({len(created)} created, {self.partitions} partitions each)")

    def service_env(self, service: str) -> dict[str, str]:
        env = {
            "COMPTOIR_HOME": str(project_root()),
            "COMPTOIR_PORT": str(self.ports[service]),
            "COMPTOIR_DATABASE_URL": (
                f"postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/{self.database(service)}"
            ),
            "COMPTOIR_KAFKA_NAMESPACE": self.kafka_namespace,
            "OTEL_EXPORTER_OTLP_ENDPOINT": os.environ.get(
                "OTEL_EXPORTER_OTLP_ENDPOINT", OTLP_ENDPOINT
            ),
            "OTEL_BSP_SCHEDULE_DELAY": os.environ.get("OTEL_BSP_SCHEDULE_DELAY", "1000"),
            "PYTHONUNBUFFERED": "1",
        }
        if "payments" in self.ports:
            env["COMPTOIR_PUBLIC_BASE_URL"] = self.url("payments")
        if "web" in self.ports:
            env["COMPTOIR_STOREFRONT_URL"] = self.url("web")
        if service in WITHOUT_DATABASE:
            del env["COMPTOIR_DATABASE_URL"]
        if service == "web":
            for api in ("catalog", "booking", "payments", "notifications"):
                if api in self.ports:
                    env[f"COMPTOIR_{api.upper()}_URL"] = self.url(api)
            env["COMPTOIR_OFFICE_STAFF_EMAILS"] = os.environ.get(
                "COMPTOIR_OFFICE_STAFF_EMAILS", OFFICE_STAFF_EMAIL
            )
        env.update(self.env)
        return env

    def argv(self, service: str, port: int) -> list[str]:
        """The command line of one service process."""
        return [
            str(Path(sys.executable).with_name("uvicorn")),
            f"comptoir_{service}.main:app",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--no-access-log",
            "--timeout-keep-alive", "30",
            "--timeout-graceful-shutdown", "10",
        ]  # fmt: skip

    def start(self, progress: Progress = _quiet, services: list[str] | None = None) -> list[str]:
        started = []
        for service in services or list(self.ports):
            argv = self.argv(service, self.ports[service])
            if start_process(self.process_name(service), argv, env=self.service_env(service)):
                progress(f"started {service} on {self.url(service)}")
                started.append(service)
        return started

    def wait_ready(self, timeout: float = 120, services: list[str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        for service in services or list(self.ports):
            while True:
                try:
                    if httpx.get(self.url(service) + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process_status(self.process_name(service)) is None:
                    raise RuntimeError(
                        f"{service} exited; see {log_path(self.process_name(service))}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{service} not ready after {timeout:.0f}s; "
                        f"see {log_path(self.process_name(service))}"
                    )
                time.sleep(0.2)

    def stop(self, progress: Progress = _quiet, services: list[str] | None = None) -> list[str]:
        stopped = []
        for service in reversed(services or list(self.ports)):
            if stop_process(self.process_name(service)):
                progress(f"stopped {service}")
                stopped.append(service)
        return stopped

    def status(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for service in self.ports:
            pid = process_status(self.process_name(service))
            ready = False
            if pid is not None:
                try:
                    ready = httpx.get(self.url(service) + "/readyz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    ready = False
            rows.append(
                {
                    "name": service,
                    "endpoint": self.url(service),
                    "pid": pid,
                    "running": pid is not None,
                    "ready": ready,
                    "log": str(log_path(self.process_name(service))),
                }
            )
        return rows

    def drop_topics(self) -> None:
        if self.kafka_namespace:
            delete_topics(self.topics())


def demo_state_path(label: str = "") -> Path:
    """What the demo seed made on the platform named ``label`` (its ids, its bookings)."""
    return local_dir() / f"{label}demo.json"

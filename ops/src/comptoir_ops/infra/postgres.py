"""PostgreSQL from Debian's packages: the default ``main`` cluster on 127.0.0.1:5432."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from .base import (
    Component,
    InfraError,
    Progress,
    apt_install,
    mark_started,
    quiet,
    run,
    succeeds,
    was_started,
)

HOST = "127.0.0.1"
PORT = 5432
CLUSTER = "main"
DEV_USER = "comptoir"
DEV_PASSWORD = "comptoir"  # noqa: S105 - the local development role, loopback only


def server_version() -> str:
    """The newest PostgreSQL major version installed under /usr/lib/postgresql."""
    versions = sorted(
        (p.parent.parent.name for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")),
        key=lambda v: int(v) if v.isdigit() else 0,
    )
    if not versions:
        raise InfraError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)")
    return versions[-1]


def psql(sql: str, variables: dict[str, str] | None = None, database: str = "postgres") -> str:
    """Run SQL as the ``postgres`` superuser over the local socket; ``:'name'`` reads a variable."""
    argv = [
        "runuser",
        "-u",
        "postgres",
        "--",
        "psql",
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
    ]
    argv += ["-p", str(PORT), "-d", database]
    for key, value in (variables or {}).items():
        argv += ["-v", f"{key}={value}"]
    return run([*argv, "-f", "-"], input_text=sql, cwd=Path("/"))


def ensure_databases(names: list[str], user: str = DEV_USER, password: str = DEV_PASSWORD) -> None:
    """Create the login role (or reset its password) and each missing database, owned by it."""
    psql(
        _ENSURE_DATABASES_SQL,
        {"user": user, "password": password, "databases": json.dumps(names)},
    )


# The advisory lock serialises parallel runs (e2e slots starting together): two
# concurrent ALTER ROLE of the same role fail with "tuple concurrently updated".
_ENSURE_DATABASES_SQL = """
SELECT pg_advisory_lock(7311) \\g /dev/null
SELECT format('CREATE ROLE %I', :'user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \\gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password') \\gexec
SELECT format('CREATE DATABASE %I OWNER %I', db, :'user')
  FROM json_array_elements_text(:'databases'::json) AS db
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = db) \\gexec
"""


def drop_database(name: str) -> None:
    """Drop a database if it exists, disconnecting its sessions first."""
    psql("SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'db') \\gexec\n", {"db": name})


def ensure_database_of(url: str) -> None:
    """The database a test's URL names, created when it is missing, if it lives on this
    machine's PostgreSQL (an URL elsewhere is the caller's to provide)."""
    parts = urlsplit(url)
    if parts.hostname in (HOST, "localhost") and (parts.port or PORT) == PORT:
        ensure_databases([parts.path.lstrip("/")])


def drop_comptoir_databases() -> list[str]:
    """Drop every database of the platform (``comptoir_*``: the demo's, test runs', the
    benchmark's); their names."""
    names = psql("SELECT datname FROM pg_database WHERE datname LIKE 'comptoir\\_%'").split()
    for name in names:
        drop_database(name)
    return names


def recreate_database(name: str, user: str = DEV_USER, password: str = DEV_PASSWORD) -> None:
    """An empty database, for tests that want a clean slate."""
    drop_database(name)
    ensure_databases([name], user, password)


def database_url(
    name: str, user: str = DEV_USER, password: str = DEV_PASSWORD, driver: str = "postgresql"
) -> str:
    return f"{driver}://{user}:{password}@{HOST}:{PORT}/{name}"


class Postgres(Component):
    name = "postgres"
    endpoint = f"{HOST}:{PORT}"

    def install(self, progress: Progress = quiet) -> None:
        apt_install(["postgresql"], progress)
        version = server_version()
        if not Path(f"/etc/postgresql/{version}/{CLUSTER}").exists():
            progress(f"creating PostgreSQL {version} cluster {CLUSTER}")
            run(["pg_createcluster", "--port", str(PORT), version, CLUSTER])
        self._configure(version, progress)

    def _configure(self, version: str, progress: Progress) -> None:
        """Room for four services, their tests' processes and a benchmark at once (each
        service pools up to 15 connections); takes effect at the next (re)start."""
        conf = Path(f"/etc/postgresql/{version}/{CLUSTER}/conf.d/comptoir.conf")
        wanted = "# Written by comptoir: the local platform's settings.\nmax_connections = 400\n"
        if conf.exists() and conf.read_text() == wanted:
            return
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(wanted)
        progress("PostgreSQL configured (max_connections 400)")
        if self.pid() is not None and self.started_by_us():
            self._ctl("restart")

    def _ctl(self, action: str) -> None:
        run(["pg_ctlcluster", "--skip-systemctl-redirect", server_version(), CLUSTER, action])

    def start(self) -> bool:
        if self.pid() is not None or self.is_ready():
            return False
        self._ctl("start")
        mark_started(self.name, True)
        return True

    def stop(self) -> bool:
        if not self.started_by_us():
            return False
        if self.pid() is not None:
            self._ctl("stop")
        mark_started(self.name, False)
        return True

    def is_ready(self) -> bool:
        return succeeds(["pg_isready", "-q", "-h", HOST, "-p", str(PORT)])

    def pid(self) -> int | None:
        pid_file = Path(f"/run/postgresql/{server_version()}-{CLUSTER}.pid")
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def started_by_us(self) -> bool:
        return was_started(self.name)

    def log_tail(self) -> str:
        log = Path(f"/var/log/postgresql/postgresql-{server_version()}-{CLUSTER}.log")
        if not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-30:])

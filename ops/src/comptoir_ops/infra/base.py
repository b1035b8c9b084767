"""What every piece of local infrastructure has in common."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import procs
from .paths import cache_dir, local_dir

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A progress callback that says nothing."""


class InfraError(RuntimeError):
    """A component could not be installed, started or reached."""


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
) -> str:
    """Run a command to completion; its stdout, or InfraError with its output."""
    result = subprocess.run(  # noqa: S603 - argv is built by this package, never from user input
        list(argv),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=input_text,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise InfraError(
            f"`{' '.join(argv)}` failed ({result.returncode}):\n" + "\n".join(output[-30:])
        )
    return result.stdout


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


_apt_updated = False


def apt_install(packages: Sequence[str], progress: Progress) -> None:
    """Install Debian packages that are missing (``apt-get update`` at most once per run)."""
    global _apt_updated
    missing = [p for p in packages if not _dpkg_installed(p)]
    if not missing:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        progress("apt-get update")
        run(["apt-get", "update"], env=env)
        _apt_updated = True
    progress(f"apt-get install {' '.join(missing)}")
    run(["apt-get", "install", "-y", "--no-install-recommends", *missing], env=env)


def succeeds(argv: Sequence[str]) -> bool:
    """Does the command exit with status 0? (For probes: output is discarded.)"""
    result = subprocess.run(list(argv), capture_output=True)  # noqa: S603 - argv is ours
    return result.returncode == 0


def _dpkg_installed(package: str) -> bool:
    try:
        status = run(["dpkg-query", "-W", "-f=${Status}", package])
    except InfraError:
        return False
    return status.strip() == "install ok installed"


def ensure_tool(name: str, package: str, progress: Progress) -> str:
    """The path of a command, installing its Debian package when it is missing."""
    if shutil.which(name) is None:
        apt_install([package], progress)
    return require_tool(name, f"apt-get install {package}")


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise InfraError(f"`{name}` not found on PATH: {hint}")
    return path


def _started_file() -> Path:
    return local_dir("run") / "started.json"


def mark_started(name: str, started: bool) -> None:
    """Remember (or forget) that we started a service we do not supervise with procs."""
    path = _started_file()
    names = set(json.loads(path.read_text())) if path.exists() else set()
    names = names | {name} if started else names - {name}
    path.write_text(json.dumps(sorted(names)))


def was_started(name: str) -> bool:
    path = _started_file()
    return path.exists() and name in json.loads(path.read_text())


class Component(ABC):
    """One piece of local infrastructure: installed, started, probed and stopped the same way."""

    name: str
    endpoint: str

    @abstractmethod
    def install(self, progress: Progress = quiet) -> None:
        """Make it runnable; downloads and builds only what is missing."""

    @abstractmethod
    def start(self) -> bool:
        """Start it unless it already runs; True if this call started it."""

    @abstractmethod
    def is_ready(self) -> bool:
        """Does it answer real requests right now?"""

    @abstractmethod
    def stop(self) -> bool:
        """Stop it if we started it; True if something was stopped."""

    @abstractmethod
    def pid(self) -> int | None:
        """The pid of the running server, ours or not, when known."""

    @abstractmethod
    def started_by_us(self) -> bool: ...

    def exited(self) -> bool:
        """Did the server we started die? (Lets wait_ready fail fast.)"""
        return False

    def log_tail(self) -> str:
        return procs.log_tail(self.name)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if self.exited():
                raise InfraError(
                    f"{self.name} exited while starting; last log lines:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise InfraError(
                    f"{self.name} not ready on {self.endpoint} after {timeout:.0f}s; "
                    f"last log lines:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def status(self) -> dict[str, Any]:
        ready = self.is_ready()
        return {
            "name": self.name,
            "running": ready or self.pid() is not None,
            "ready": ready,
            "pid": self.pid(),
            "endpoint": self.endpoint,
            "started_by_us": self.started_by_us(),
        }


class ProcessComponent(Component):
    """A server we run under procs.py, unless something already answers on its endpoint."""

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the server in the foreground."""

    def environment(self) -> dict[str, str]:
        return {}

    def workdir(self) -> Path | None:
        return None

    def prepare(self) -> None:
        """Write configuration, format storage: whatever must exist before the first start."""

    def start(self) -> bool:
        if self.started_by_us() or self.is_ready():
            return False
        self.prepare()
        return procs.start_process(
            self.name, self.command(), env=self.environment(), cwd=self.workdir()
        )

    def stop(self) -> bool:
        return procs.stop_process(self.name)

    def pid(self) -> int | None:
        return procs.process_status(self.name)

    def started_by_us(self) -> bool:
        return procs.process_status(self.name) is not None

    def exited(self) -> bool:
        return procs.pid_path(self.name).exists() and procs.process_status(self.name) is None


def go_install(module: str, version: str, progress: Progress) -> Path:
    """``go install module@version`` into ``.cache/bin``, unless that version is already there."""
    bin_dir = cache_dir("bin")
    binary = bin_dir / module.rstrip("/").rsplit("/", 1)[-1]
    stamp = bin_dir / f"{binary.name}.version"
    if binary.exists() and stamp.exists() and stamp.read_text().strip() == version:
        return binary
    require_tool("go", "install Go 1.22 or newer (https://go.dev/dl/)")
    progress(f"go install {module}@{version}")
    run(["go", "install", f"{module}@{version}"], env={"GOBIN": str(bin_dir)}, cwd=bin_dir)
    stamp.write_text(version)
    return binary

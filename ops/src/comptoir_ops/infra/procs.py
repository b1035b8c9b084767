"""A tiny supervisor for the processes Comptoir starts itself.

Each process is known by a name: its output goes to ``.local/log/<name>.log`` and
its pid, with the command line it was started with, to ``.local/run/<name>.pid``.
Only a pid whose start time (``/proc/<pid>/stat``) still matches what we recorded
is ever signalled, so a recycled pid is never killed by mistake. (The command line
is not a reliable identity: redis-server, for one, rewrites its own.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .paths import local_dir


def log_path(name: str) -> Path:
    return local_dir("log") / f"{name}.log"


def pid_path(name: str) -> Path:
    return local_dir("run") / f"{name}.pid"


def _start_time(pid: int) -> int | None:
    """Start time of a live (non-zombie) process, in clock ticks since boot."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the command name may contain spaces
    if fields[0] == "Z":  # exited, not yet reaped
        return None
    return int(fields[19])


def _recorded(name: str) -> tuple[int, int] | None:
    try:
        data = json.loads(pid_path(name).read_text())
        return int(data["pid"]), int(data["start_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_status(name: str) -> int | None:
    """The pid of the live process recorded under ``name``, or None."""
    recorded = _recorded(name)
    if recorded is None:
        return None
    pid, start_time = recorded
    return pid if _start_time(pid) == start_time else None


def start_process(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
) -> bool:
    """Start ``argv`` detached in its own session; False (and nothing done) if already running."""
    if process_status(name) is not None:
        return False
    full_env = {**os.environ, **(env or {})}
    with open(log_path(name), "ab") as log, open(os.devnull, "rb") as devnull:
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"\n--- {started} starting {name}: {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(  # noqa: S603 - argv comes from the components of this package
            list(argv),
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    start_time = _start_time(proc.pid)
    pid_path(name).write_text(
        json.dumps({"pid": proc.pid, "start_time": start_time, "argv": list(argv)})
    )
    return True


def stop_process(name: str, timeout: float = 20) -> bool:
    """SIGTERM the process group recorded under ``name``, SIGKILL after ``timeout``.

    Returns True if a live process was stopped. The pid file is removed either way.
    """
    pid = process_status(name)
    pid_path(name).unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _start_time(pid) is None:
            return True
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # start_new_session made the pid its group leader
    except ProcessLookupError:
        pass


def log_tail(name: str, lines: int = 30) -> str:
    path = log_path(name)
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

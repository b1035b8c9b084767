"""Redis from Debian's ``redis-server`` package, run in the foreground under procs.py."""

from __future__ import annotations

import redis as redis_client

from .base import ProcessComponent, Progress, apt_install, quiet
from .paths import local_dir

HOST = "127.0.0.1"
PORT = 6379


class Redis(ProcessComponent):
    """Ours on 127.0.0.1:6379, unless a Redis (e.g. Debian's service) already answers there."""

    name = "redis"
    endpoint = f"{HOST}:{PORT}"

    def install(self, progress: Progress = quiet) -> None:
        apt_install(["redis-server"], progress)

    def command(self) -> list[str]:
        return [
            "redis-server",
            "--bind",
            HOST,
            "--port",
            str(PORT),
            "--dir",
            str(local_dir("redis")),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]

    def is_ready(self) -> bool:
        client = redis_client.Redis(
            host=HOST, port=PORT, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            return bool(client.ping())
        except redis_client.RedisError:
            return False
        finally:
            client.close()

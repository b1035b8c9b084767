"""stripe-mock: Stripe's API shapes and fixtures on 127.0.0.1:12111 (stateless, no webhooks)."""

from __future__ import annotations

import httpx

from .base import ProcessComponent, Progress, go_install, quiet
from .paths import cache_dir

MODULE = "github.com/stripe/stripe-mock"
VERSION = "v0.203.0"
HOST = "127.0.0.1"
HTTP_PORT = 12111
HTTPS_PORT = 12112
API_BASE = f"http://{HOST}:{HTTP_PORT}"
API_KEY = "sk_test_123"


class StripeMock(ProcessComponent):
    name = "stripe-mock"
    endpoint = API_BASE

    def install(self, progress: Progress = quiet) -> None:
        go_install(MODULE, VERSION, progress)

    def command(self) -> list[str]:
        return [
            str(cache_dir("bin") / "stripe-mock"),
            "-http-addr",
            f"{HOST}:{HTTP_PORT}",
            # -http-addr alone leaves HTTPS on, listening on [::]:12112: pin it to loopback.
            "-https-addr",
            f"{HOST}:{HTTPS_PORT}",
        ]

    def is_ready(self) -> bool:
        try:
            response = httpx.get(
                f"{API_BASE}/v1/charges", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=1
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200

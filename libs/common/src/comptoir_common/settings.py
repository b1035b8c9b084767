"""One settings loader for every service: environment variables prefixed ``COMPTOIR_``.

Development defaults let a newcomer run the platform with no configuration at all.
In production mode (``COMPTOIR_ENVIRONMENT=production``) every development default
that is a secret is refused at start-up, so a forgotten variable fails loudly instead
of running with a well-known password or key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_DB_PASSWORD = "comptoir"  # noqa: S105 - development default, refused in production
DEV_STRIPE_WEBHOOK_SECRET = "whsec_comptoir_development"  # noqa: S105


def project_home() -> Path:
    """Root of a local checkout: where ``.local/`` (keys, logs, data) lives."""
    return Path(os.environ.get("COMPTOIR_HOME", Path.cwd())).resolve()


def dev_key_path(name: str) -> str:
    return str(project_home() / ".local" / "keys" / name)


def read_pem(value: str) -> bytes:
    """A key is given either as PEM text or as the path of a PEM file."""
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    return Path(value).read_bytes()


class ServiceSettings(BaseSettings):
    """Settings every Comptoir service shares. Subclasses add their own fields."""

    model_config = SettingsConfigDict(env_prefix="COMPTOIR_", extra="ignore")

    service_name: str = "comptoir"
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    database_url: str = ""
    #: Connections kept open to the database, and how many more a burst may open.
    database_pool_size: int = 5
    database_max_overflow: int = 10
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    #: Prepended to every topic name and consumer group: lets an isolated test run or a
    #: second environment share one broker without seeing each other's messages.
    kafka_namespace: str = ""

    #: Public keys (PEM text or file path) that verify tokens, by issuer.
    auth_office_public_key: str = Field(default_factory=lambda: dev_key_path("office.pub.pem"))
    auth_visitor_public_key: str = Field(default_factory=lambda: dev_key_path("visitor.pub.pem"))

    #: The outbox relay's idle poll interval; NOTIFY wakes it sooner.
    outbox_poll_seconds: float = 0.5
    #: How many times a consumer retries an event before sending it to the dead-letter topic.
    consumer_max_attempts: int = 3

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def default_database_url(self) -> str:
        db = f"comptoir_{self.service_name}"
        return f"postgresql+asyncpg://comptoir:{DEV_DB_PASSWORD}@127.0.0.1:5432/{db}"

    @model_validator(mode="after")
    def _fill_and_check(self) -> Self:
        if not self.database_url:
            self.database_url = self.default_database_url()
        if self.is_production:
            self.refuse_development_defaults()
        return self

    def development_defaults_in_use(self) -> list[str]:
        """Names of settings still holding a development default."""
        found = []
        if f":{DEV_DB_PASSWORD}@" in self.database_url:
            found.append("COMPTOIR_DATABASE_URL (development password)")
        local_keys = str(project_home() / ".local" / "keys")
        for name in ("auth_office_public_key", "auth_visitor_public_key"):
            if str(getattr(self, name)).startswith(local_keys):
                found.append(f"COMPTOIR_{name.upper()} (development key file)")
        return found

    def refuse_development_defaults(self) -> None:
        found = self.development_defaults_in_use()
        if found:
            raise ValueError(
                "production mode refuses development defaults; set: " + ", ".join(found)
            )

    def topic(self, name: str) -> str:
        return f"{self.kafka_namespace}{name}"

    @property
    def consumer_group(self) -> str:
        return f"{self.kafka_namespace}{self.service_name}"

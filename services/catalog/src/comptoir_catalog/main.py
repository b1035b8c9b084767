"""The catalog service process (port 8001)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from comptoir_catalog.api import router
from comptoir_catalog.consumers import consumers
from comptoir_common.events import v1
from comptoir_common.service import ServiceSpec, create_service_app
from comptoir_common.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    service_name: str = "catalog"
    port: int = 8001


def create_app(settings: CatalogSettings) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            name="catalog",
            title="Comptoir catalog",
            description=(
                "Territories, providers, activities and their time slots: what a tourism "
                "office offers and visitors search."
            ),
            version="1.0.0",
            settings=settings,
            migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
            routers=[router],
            consumers=consumers,
            publishes=[v1.TerritoryUpdated, v1.ProviderUpdated, v1.ActivityUpdated, v1.SlotUpdated],
        )
    )


settings = CatalogSettings()
app = create_app(settings)

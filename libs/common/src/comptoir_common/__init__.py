"""Shared code every Comptoir service agrees on: contracts, outbox, inbox, telemetry, settings, auth."""

"""Shared code of every Comptoir service: contracts, outbox, inbox, telemetry, settings, auth."""

"""Comptoir operator tooling: the `comptoir` CLI and the local platform."""

"""Parity checks (being written)."""

CHECKS: list = []

"""Masking identifiers for public output: keep the region and the last four characters."""

from __future__ import annotations


def mask(identifier: str) -> str:
    """``110101199003071234`` -> ``110101********1234``. Short values are masked whole."""
    if len(identifier) != 18:
        return "*" * len(identifier)
    return identifier[:6] + "*" * 8 + identifier[14:]

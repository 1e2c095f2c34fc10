"""Fixtures of the portal's tests: the small demo city of the HTTP tests, built once per
session and copied by each module."""

from __future__ import annotations

import pytest

from tests.api.live import City, demo_city


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return demo_city(tmp_path_factory)

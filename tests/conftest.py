"""Shared fixtures: a fresh data directory, and the ledger on each store.

PostgreSQL tests run against the real server on loopback (XINYONG_TEST_DATABASE_URL,
default postgresql://postgres@127.0.0.1:5432/postgres): each test session creates its own
database and drops it afterwards. Outside CI they skip, saying so, when no server
answers; in CI (CI=true) a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from xinyong.context import Context
from xinyong.settings import load_settings

ADMIN_URL = os.environ.get(
    "XINYONG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _base(url: str) -> str:
    return url.rsplit("/", 1)[0]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A database of its own on the real PostgreSQL server, for this test session."""
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL} in CI: {exc}")
        pytest.skip(
            f"no PostgreSQL server answers at {ADMIN_URL} ({exc}); PostgreSQL store tests skipped"
        )
    name = f"xinyong_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{_base(ADMIN_URL)}/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A clean schema for each test: drop everything the previous test created."""
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute("DROP SCHEMA public CASCADE")
        con.execute("CREATE SCHEMA public")
    yield pg_server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ctx(store_kind: str, data_dir: Path, request: pytest.FixtureRequest) -> Context:
    """A Context on each store in turn (tests using it run twice)."""
    url = request.getfixturevalue("pg_url") if store_kind == "postgres" else None
    return Context(load_settings(data_dir=data_dir, database_url=url, secret="test-secret"))


@pytest.fixture
def embedded_ctx(data_dir: Path) -> Context:
    return Context(load_settings(data_dir=data_dir, secret="test-secret"))

"""All configuration in one place: ``XINYONG_*`` environment variables, typed and documented.

docs/operations.md lists every field below; tests/test_settings.py fails if one is missing.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore")

    # Where the embedded store, its secret and ingestion spool live.
    data_dir: Path = Field(default=Path("xinyong-data"))
    # PostgreSQL URL (postgresql://user@host/db). When set, the ledger lives there instead of
    # the embedded file; the data directory still holds the spool and, if not set below, the secret.
    database_url: str | None = None
    # Deployment secret for pseudonymous subject keys (HMAC-SHA256). Generated into
    # DATA_DIR/secret.key on first use when unset; never change it on an existing ledger.
    secret: str | None = None
    # A catalogue file that replaces the default one shipped with the package.
    catalog: Path | None = None
    # A policy directory (one directory is one policy version) that replaces the default.
    policy: Path | None = None
    # Spark master for `xinyong evaluate --engine spark` (local mode by default).
    spark_master: str = "local[2]"
    # Seconds a command waits for another process to release the embedded store.
    lock_timeout: float = Field(default=60.0, gt=0)
    # Time zone whose calendar decides "today" (dates in the future are rejected).
    timezone: str = "Asia/Shanghai"
    # Rows per batch while ingesting: larger is faster, smaller keeps memory lower.
    batch_rows: int = Field(default=500_000, gt=0)
    # Memory DuckDB may use for one ingestion or merge (DuckDB syntax, e.g. "1GB").
    memory_limit: str = "1GB"
    # A TOML file of working-day calendar years ([years.YYYY] holidays and workdays) that the
    # built-in calendar lacks or that a deployment corrects (docs/due-process.md).
    calendar: Path | None = None
    # Where notices to subjects go, comma-separated: file (DATA_DIR/notices/outbox, always
    # possible), email (needs XINYONG_SMTP_URL and the subject's e-mail address), sms (needs
    # XINYONG_SMS_URL and the subject's phone number). Nothing ever goes to anyone else.
    notice_channels: str = "file"
    # SMTP server for e-mailed notices, as smtp://host:port (smtps:// for implicit TLS).
    smtp_url: str | None = None
    # The From address of e-mailed notices.
    smtp_from: str = "notices@xinyong.invalid"
    # HTTP SMS gateway for notices by text message: POST {"to", "text", "id"} as JSON.
    sms_url: str | None = None
    # Attempts per notice and channel before its delivery is reported as failed.
    notice_attempts: int = Field(default=6, ge=1)
    # Days before a listing's term or a record's publicity ends that the subject is told.
    notice_lead_days: int = Field(default=30, ge=0)
    # NATS server (nats://127.0.0.1:4222) whose JetStream stream XINYONG_CHANGES receives the
    # change feed from `xinyong serve`; unset, nothing is published to NATS.
    nats_url: str | None = None
    # Send the portal's cookies (session, CSRF, language) with the Secure attribute, so a
    # browser returns them only over HTTPS (and to http://127.0.0.1 and localhost). Turn off
    # only for a plain-HTTP client that is not a browser, such as a test on loopback.
    portal_secure_cookies: bool = True
    # Sign-in attempts with a wrong secret before a subject's sign-in is locked, and for
    # how many minutes; attempts from one client address are limited the same way.
    portal_max_attempts: int = Field(default=5, ge=1)
    portal_lockout_minutes: int = Field(default=15, ge=1)
    # The portal's public address (https://credit.example.gov.cn), printed on signed reports
    # as their issuer; unset, the address each request came to (its Host header).
    public_url: str | None = None
    # The fairness audit of a fitted commercial scorecard: the largest demographic-parity
    # and equalised-odds differences between age bands or sexes that `score train` publishes
    # without an operator's recorded override, and the smallest group whose rates are shown.
    score_max_parity_difference: float = Field(default=0.10, ge=0, le=1)
    score_max_odds_difference: float = Field(default=0.10, ge=0, le=1)
    score_min_group: int = Field(default=30, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone of the IANA database, such as Asia/Shanghai") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("not a PostgreSQL URL (postgresql://user@host:5432/db)")
        return value


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI options) winning. A bad
    value raises pydantic's ValidationError; ``xinyong.context.settings_or_explain`` turns
    it into one message naming every setting that is wrong."""
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)  # type: ignore[arg-type]  # untyped CLI overrides; pydantic validates them


def explain_invalid(exc: ValidationError) -> str:
    """Which settings are wrong and why, by their environment variables."""
    return "; ".join(
        f"XINYONG_{str(error['loc'][0]).upper()}={error.get('input')!r}: "
        f"{error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors()
    )

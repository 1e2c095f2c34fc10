"""Consent to a purpose that needs it (the commercial score): given and withdrawn by the
subject alone, one purpose at a time, kept as records of the ledger.

A grant is a ``consent.granted`` record of the built-in source ``subjects`` naming the
purpose, the version of the text the subject read and the channel; withdrawing revokes that
record. The policy scores only subjects with a grant in force (``consent:`` on a score), so a
withdrawal re-evaluates the subject at once through the after-merge hook, which ends the
rewards the score gave (the change feed tells the partners). Stored scores of that purpose,
in every run, are then deleted.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import orjson

from xinyong import audit
from xinyong.catalog.model import Catalog
from xinyong.clock import today
from xinyong.context import Context
from xinyong.errors import ConsentError
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.masking import mask
from xinyong.ledger.consents import SOURCE_ID
from xinyong.ledger.context import AfterMerge
from xinyong.ledger.sources import SUBJECT_KIND, add_source
from xinyong.ledger.submit import submit_records
from xinyong.policy.compiler import CONSENT
from xinyong.store.base import Connection

Channel = Literal["portal", "api", "cli"]


@dataclass(frozen=True)
class ConsentText:
    purpose: str
    version: str
    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@cache
def texts() -> dict[str, ConsentText]:
    """The consent texts shipped with xinyong, by purpose."""
    raw = resources.files("xinyong.score").joinpath("consent_texts.toml").read_text("utf-8")
    return {
        purpose: ConsentText(purpose, str(t["version"]), t["en"].strip(), t["zh"].strip())
        for purpose, t in tomllib.loads(raw).items()
    }


def consent_text(purpose: str) -> ConsentText:
    found = texts().get(purpose)
    if found is None:
        raise ConsentError(
            f"There is no consent for the purpose {purpose!r}.",
            hint="Purposes that need consent: " + ", ".join(sorted(texts())) + ".",
            code="consent_purpose_unknown",
        )
    return found


@dataclass(frozen=True)
class Consent:
    """One grant, in force or withdrawn."""

    purpose: str
    record: str  # its source_record_id
    text_version: str
    channel: str
    given_on: str
    given_at: str | None
    withdrawn_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "in_force": self.withdrawn_at is None,
            "record": self.record,
            "text_version": self.text_version,
            "channel": self.channel,
            "given_on": self.given_on,
            "given_at": self.given_at,
            "withdrawn_at": self.withdrawn_at,
        }


def history(conn: Connection, key: str, purpose: str | None = None) -> list[Consent]:
    """Every grant of the subject, newest first, with when it was withdrawn if it was."""
    rows = conn.dicts(
        "SELECT r.source_record_id, r.action, r.supersedes, r.details,"
        " CAST(r.occurred_on AS VARCHAR) AS occurred_on, s.received_at"
        " FROM records r JOIN submissions s ON s.submission_id = r.submission_id"
        " WHERE r.subject_key = ? AND r.source_id = ? ORDER BY r.event_id",
        [key, SOURCE_ID],
    )
    withdrawn = {r["supersedes"]: r["received_at"] for r in rows if r["action"] == "revoke"}
    found = []
    for r in rows:
        if r["action"] == "revoke":
            continue
        details = orjson.loads(r["details"]) if r["details"] else {}
        if purpose is not None and details.get("purpose") != purpose:
            continue
        ended = withdrawn.get(r["source_record_id"])
        found.append(
            Consent(
                purpose=str(details.get("purpose")),
                record=r["source_record_id"],
                text_version=str(details.get("text_version")),
                channel=str(details.get("channel")),
                given_on=r["occurred_on"],
                given_at=_stamp(r["received_at"]),
                withdrawn_at=_stamp(ended),
            )
        )
    return list(reversed(found))


def in_force(conn: Connection, key: str, purpose: str) -> Consent | None:
    return next((c for c in history(conn, key, purpose) if c.withdrawn_at is None), None)


def grant(
    ctx: Context,
    identifier: str,
    purpose: str,
    *,
    text_version: str,
    channel: Channel,
    after_merge: AfterMerge,
    by: str,
) -> dict[str, Any]:
    """Record the subject's consent to ``purpose``, given on the text ``text_version``.
    Giving it again while it is in force changes nothing."""
    text = consent_text(purpose)
    if text_version != text.version:
        raise ConsentError(
            f"Consent to {purpose} is given on the current text, version {text.version};"
            f" the request names {text_version!r}.",
            hint="Show the subject the current text (`xinyong consent text "
            f"{purpose}`) and pass --text-version {text.version}.",
            code="consent_text_outdated",
        )
    parsed = parse_subject(identifier)
    key = subject_key(ctx.secret, parsed.identifier)
    with ctx.store.transaction() as conn:
        current = in_force(conn, key, purpose)
        if current is not None:
            return {"changed": False, "consent": current.as_dict()}
        ensure_source(ctx.catalog, conn)
    record = f"consent-{purpose}-{secrets.token_hex(8)}"
    day = today(ctx.settings.timezone)
    _submit(
        ctx,
        {
            "source_record_id": record,
            "subject": parsed.identifier,
            "category": CONSENT,
            "occurred_on": day.isoformat(),
            "details": {"purpose": purpose, "text_version": text_version, "channel": channel},
        },
        after_merge,
    )
    with ctx.store.transaction() as conn:
        audit.append(
            conn,
            actor=by,
            action="consent.grant",
            obj=record,
            payload={"purpose": purpose, "text_version": text_version, "channel": channel},
        )
        given = in_force(conn, key, purpose)
    assert given is not None
    return {"changed": True, "consent": given.as_dict()}


def withdraw(
    ctx: Context,
    identifier: str,
    purpose: str,
    *,
    channel: Channel,
    after_merge: AfterMerge,
    by: str,
) -> dict[str, Any]:
    """End the subject's consent to ``purpose`` now: the grant is revoked (which re-evaluates
    the subject and ends the rewards it allowed) and every stored score of the purpose is
    deleted."""
    consent_text(purpose)
    parsed = parse_subject(identifier)
    key = subject_key(ctx.secret, parsed.identifier)
    with ctx.store.transaction() as conn:
        current = in_force(conn, key, purpose)
    if current is None:
        raise ConsentError(
            f"{mask(parsed.identifier)} has no consent to {purpose} in force: there is nothing"
            " to withdraw.",
            code="consent_missing",
        )
    _submit(
        ctx,
        {
            "source_record_id": f"{current.record}-withdrawn",
            "subject": parsed.identifier,
            "action": "revoke",
            "supersedes": current.record,
        },
        after_merge,
    )
    scores = [s.id for s in ctx.policy.scores.values() if s.consent == purpose]
    deleted = 0
    with ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        for table in ("scores", "score_features", "score_items"):
            for score_id in scores:
                deleted += int(
                    conn.scalar(
                        f"SELECT count(*) FROM {table} WHERE subject_key = ? AND score_id = ?",
                        [key, score_id],
                    )
                )
                conn.execute(
                    f"DELETE FROM {table} WHERE subject_key = ? AND score_id = ?", [key, score_id]
                )
        audit.append(
            conn,
            actor=by,
            action="consent.withdraw",
            obj=current.record,
            payload={"purpose": purpose, "channel": channel, "rows_deleted": deleted},
        )
        ended = next(c for c in history(conn, key, purpose) if c.record == current.record)
    return {"changed": True, "consent": ended.as_dict(), "stored_rows_deleted": deleted}


def ensure_source(catalog: Catalog, conn: Connection) -> None:
    """Register the built-in source of what subjects give themselves, once."""
    if not conn.scalar("SELECT count(*) FROM sources WHERE source_id = ?", [SOURCE_ID]):
        # Its credential is thrown away: nothing but this module writes as the subjects.
        add_source(
            conn,
            catalog,
            name="The subjects themselves (consent)",
            kind=SUBJECT_KIND,
            source_id=SOURCE_ID,
            categories=[CONSENT],
            internal=True,
        )


def _submit(ctx: Context, record: dict[str, Any], after_merge: AfterMerge) -> None:
    answer = submit_records(ctx, [record], SOURCE_ID, after_merge)
    result = answer["results"][0]
    if result["status"] == "rejected":
        raise ConsentError(
            f"The consent record was refused: {result['message']}", code="consent_refused"
        )


def _stamp(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    return str(value)

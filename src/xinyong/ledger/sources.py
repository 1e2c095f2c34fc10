"""The registry of sources: who may submit which categories, with a credential per source."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from xinyong import audit, credentials
from xinyong.catalog.model import Catalog
from xinyong.clock import utcnow
from xinyong.errors import NotFound, SourceError
from xinyong.ledger.validate import Grant
from xinyong.store.base import Connection

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class Source:
    source_id: str
    name: str
    kind: str
    categories: tuple[str, ...]
    active: bool

    @property
    def grant(self) -> Grant:
        return Grant(self.source_id, frozenset(self.categories))


# The kind of the one built-in source that writes what subjects themselves give (consent).
SUBJECT_KIND = "subject"


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:40] or "source"


def add_source(
    conn: Connection,
    catalog: Catalog,
    *,
    name: str,
    kind: str,
    source_id: str | None = None,
    categories: list[str] | None = None,
    internal: bool = False,
) -> tuple[Source, str]:
    """Register a source; return it and its credential, which is shown once and stored hashed."""
    if kind == SUBJECT_KIND and not internal:
        raise SourceError(
            "No source may be registered as the subjects themselves: consent is given only by"
            " the subject, through `xinyong consent`, the consent page or"
            " POST /v1/subjects/{id}/consents.",
            code="source_kind_reserved",
        )
    if kind not in catalog.source_kinds:
        raise SourceError(
            f"Unknown source kind {kind!r}.",
            hint="Use one of: " + ", ".join(catalog.source_kinds) + ".",
        )
    allowed = catalog.categories_for_source_kind(kind)
    if categories:
        unknown = [c for c in categories if c not in catalog.categories]
        if unknown:
            raise SourceError(
                f"Unknown categor{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}.",
                hint="`xinyong catalog list` shows the catalogue.",
            )
        beyond = [c for c in categories if c not in allowed]
        if beyond:
            raise SourceError(
                f"A {kind} source may not submit {', '.join(beyond)}: the catalogue does not "
                f"list {kind!r} among the kinds of source for {'them' if len(beyond) > 1 else 'it'}.",
            )
    granted = tuple(categories or allowed)
    source_id = source_id or slug(name)
    if not _ID.match(source_id):
        raise SourceError(
            f"Source id {source_id!r} must be lower-case letters, digits, '-', '_' or '.'."
        )
    if conn.scalar("SELECT count(*) FROM sources WHERE source_id = ?", [source_id]):
        raise SourceError(
            f"A source with id {source_id!r} exists already.",
            hint="Choose another --id, or see `xinyong sources list`.",
        )
    credential, digest = credentials.mint("source")
    conn.execute(
        "INSERT INTO sources (source_id, name, kind, categories, credential_hash, active, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            source_id,
            name,
            kind,
            orjson.dumps(list(granted)).decode(),
            digest,
            True,
            utcnow(),
        ],
    )
    audit.append(
        conn,
        actor="admin",
        action="source.add",
        obj=source_id,
        payload={"name": name, "kind": kind, "categories": list(granted)},
    )
    return Source(source_id, name, kind, granted, True), credential


def _row_to_source(row: tuple[object, ...]) -> Source:
    source_id, name, kind, categories, active = row
    return Source(
        str(source_id), str(name), str(kind), tuple(orjson.loads(str(categories))), bool(active)
    )


def get_source(conn: Connection, source_id: str) -> Source:
    row = conn.one(
        "SELECT source_id, name, kind, categories, active FROM sources WHERE source_id = ?",
        [source_id],
    )
    if row is None:
        raise NotFound(
            f"No source with id {source_id!r}.",
            hint="Register it with `xinyong sources add NAME --kind KIND`, or see `xinyong sources list`.",
        )
    source = _row_to_source(row)
    if not source.active:
        raise SourceError(f"Source {source_id!r} is deactivated and may not submit records.")
    return source


def list_sources(conn: Connection) -> list[Source]:
    rows = conn.execute(
        "SELECT source_id, name, kind, categories, active FROM sources ORDER BY source_id"
    )
    return [_row_to_source(r) for r in rows]


def authenticate(conn: Connection, credential: str) -> Source | None:
    source_id = credentials.source_of(conn, credential)
    if source_id is None:
        return None
    row = conn.one(
        "SELECT source_id, name, kind, categories, active FROM sources WHERE source_id = ?",
        [source_id],
    )
    return _row_to_source(row) if row else None

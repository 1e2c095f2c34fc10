"""Partners: the airlines, railways, hotels, lenders... that ask at the point of service.

A partner's grant names the actions it may ask about (by default every action the policy
lists for its kind) and the purpose it declared. Its credential is printed once and stored
as a SHA-256 hash. A partner that also reports outcomes (a rental company's contract
breaches) is registered as a source under the same id and credential.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

import httpx
import orjson

from xinyong import audit, credentials
from xinyong.catalog.model import Catalog
from xinyong.clock import utcnow
from xinyong.errors import NotFound, SourceError
from xinyong.ledger.sources import add_source, slug
from xinyong.policy.model import Policy
from xinyong.store.base import Connection

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class Partner:
    partner_id: str
    name: str
    kind: str
    actions: tuple[str, ...]
    purpose: str
    webhook_url: str | None
    active: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "partner_id": self.partner_id,
            "name": self.name,
            "kind": self.kind,
            "actions": list(self.actions),
            "purpose": self.purpose,
            "webhook_url": self.webhook_url,
            "active": self.active,
        }


def _valid_url(url: str) -> bool:
    if not _URL.match(url):
        return False
    try:
        parsed = httpx.URL(url)
        _ = parsed.port  # a port that is not a number fails here
    except (httpx.InvalidURL, ValueError):
        return False
    return bool(parsed.host)


def partner_kinds(policy: Policy) -> dict[str, list[str]]:
    """Partner kind -> the actions the policy lists for it."""
    kinds: dict[str, list[str]] = {}
    for action_id, action in sorted(policy.actions.items()):
        for kind in action.partner_kinds:
            kinds.setdefault(kind, []).append(action_id)
    return kinds


def subject_ref(secret: bytes, partner_id: str, subject_key: str) -> str:
    """The name a partner knows a subject by in answers and in the feed: stable for that
    partner, meaningless to every other, so partners cannot pool what they hear."""
    message = f"ref:{partner_id}:{subject_key}".encode()
    return hmac.digest(secret, message, "sha256").hex()[:24]


def add_partner(
    conn: Connection,
    policy: Policy,
    catalog: Catalog,
    *,
    name: str,
    kind: str,
    purpose: str,
    actions: list[str] | None = None,
    partner_id: str | None = None,
    webhook_url: str | None = None,
    categories: list[str] | None = None,
    source_kind: str | None = None,
) -> tuple[Partner, str]:
    """Register a partner; return it and its credential (shown once, stored hashed)."""
    kinds = partner_kinds(policy)
    if kind not in kinds:
        raise SourceError(
            f"Unknown partner kind {kind!r}.",
            hint="The policy's actions name these kinds: " + ", ".join(sorted(kinds)) + ".",
            code="partner_invalid",
        )
    if not purpose.strip():
        raise SourceError(
            "A partner must declare the purpose it asks for (--purpose).",
            hint='For example --purpose "ticket sales under the joint punishment memorandum".',
            code="partner_invalid",
        )
    granted = actions or kinds[kind]
    unknown = [a for a in granted if a not in policy.actions]
    if unknown:
        raise SourceError(
            f"Unknown action{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}.",
            hint="Known actions: " + ", ".join(sorted(policy.actions)) + ".",
            code="partner_invalid",
        )
    beyond = [a for a in granted if a not in kinds[kind]]
    if beyond:
        raise SourceError(
            f"A {kind} may not ask about {', '.join(beyond)}: the policy lists {kind!r} among "
            f"the partner kinds of {', '.join(kinds[kind])} only.",
            code="partner_invalid",
        )
    if webhook_url is not None and not _valid_url(webhook_url):
        raise SourceError(
            f"Webhook URL {webhook_url!r} is not an http(s) URL.",
            hint="For example --webhook https://partner.example/xinyong-feed",
            code="partner_invalid",
        )
    partner_id = partner_id or slug(name)
    if not _ID.match(partner_id):
        raise SourceError(
            f"Partner id {partner_id!r} must be lower-case letters, digits, '-', '_' or '.'.",
            code="partner_invalid",
        )
    if conn.scalar("SELECT count(*) FROM partners WHERE partner_id = ?", [partner_id]):
        raise SourceError(
            f"A partner with id {partner_id!r} exists already.",
            hint="Choose another --id, or see `xinyong partners list`.",
            code="partner_exists",
        )
    credential, digest = credentials.mint("partner")
    conn.execute(
        "INSERT INTO partners (partner_id, name, kind, actions, purpose, webhook_url,"
        " credential_hash, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            partner_id,
            name,
            kind,
            orjson.dumps(list(granted)).decode(),
            purpose,
            webhook_url,
            digest,
            True,
            utcnow(),
        ],
    )
    if categories:
        # Outcome records come in as from any source, under the partner's own credential.
        add_source(
            conn,
            catalog,
            name=name,
            kind=source_kind or kind,
            source_id=partner_id,
            categories=categories,
        )
        credentials.share_with_source(conn, partner_id)
    audit.append(
        conn,
        actor="admin",
        action="partner.add",
        obj=partner_id,
        payload={
            "name": name,
            "kind": kind,
            "actions": list(granted),
            "purpose": purpose,
            "webhook_url": webhook_url,
            "categories": categories or [],
        },
    )
    return Partner(partner_id, name, kind, tuple(granted), purpose, webhook_url, True), credential


def rotate_credential(conn: Connection, partner_id: str) -> str:
    """Issue a new credential; the old one stops working at once."""
    get_partner(conn, partner_id)
    credential = credentials.rotate_partner(conn, partner_id)
    audit.append(conn, actor="admin", action="partner.rotate", obj=partner_id, payload={})
    return credential


_COLUMNS = "partner_id, name, kind, actions, purpose, webhook_url, active"


def _row(row: tuple[object, ...]) -> Partner:
    pid, name, kind, actions, purpose, url, active = row
    return Partner(
        str(pid),
        str(name),
        str(kind),
        tuple(orjson.loads(str(actions))),
        str(purpose),
        str(url) if url else None,
        bool(active),
    )


def list_partners(conn: Connection) -> list[Partner]:
    return [_row(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM partners ORDER BY partner_id")]


def get_partner(conn: Connection, partner_id: str) -> Partner:
    row = conn.one(f"SELECT {_COLUMNS} FROM partners WHERE partner_id = ?", [partner_id])
    if row is None:
        raise NotFound(
            f"No partner with id {partner_id!r}.",
            hint="Register it with `xinyong partners add NAME --kind KIND --purpose ...`,"
            " or see `xinyong partners list`.",
        )
    return _row(row)

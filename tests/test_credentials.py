"""Credentials of every principal, in one module (xinyong/credentials.py)."""

from __future__ import annotations

from xinyong import credentials
from xinyong.access.partners import add_partner, rotate_credential
from xinyong.context import Context
from xinyong.ledger.sources import add_source, authenticate


def test_a_credential_is_shown_once_and_stored_as_its_hash(ctx: Context) -> None:
    with ctx.store.transaction() as conn:
        source, issued = add_source(conn, ctx.catalog, name="Court", kind="court")
        stored = conn.scalar("SELECT credential_hash FROM sources")
        holders = credentials.holders(conn)
    assert issued.startswith(credentials.PREFIXES["source"])
    assert stored == credentials.hash_credential(issued) and issued not in stored
    assert holders.sources == {stored: source.source_id}


def test_rotating_a_reporting_partner_voids_both_of_its_roles(ctx: Context) -> None:
    """A partner that also reports records holds one credential for both roles: the old one
    must stop posting records the moment it stops asking for decisions."""
    with ctx.store.transaction() as conn:
        partner, old = add_partner(
            conn,
            ctx.policy,
            ctx.catalog,
            name="City Car Rental",
            kind="rental",
            purpose="deposit waivers",
            categories=["commercial.contract.breach"],
            source_kind="rental",
        )
        assert authenticate(conn, old) is not None
        new = rotate_credential(conn, partner.partner_id)
        holders = credentials.holders(conn)
        assert authenticate(conn, old) is None
        source = authenticate(conn, new)
    assert source is not None and source.source_id == partner.partner_id
    digest = credentials.hash_credential(new)
    assert holders.partners == {digest: partner.partner_id}
    assert holders.sources == {digest: partner.partner_id}


def test_rotating_a_partner_leaves_an_unrelated_source_of_the_same_id_alone(ctx: Context) -> None:
    with ctx.store.transaction() as conn:
        _, court_credential = add_source(
            conn, ctx.catalog, name="Court", kind="court", source_id="shared-id"
        )
        add_partner(
            conn, ctx.policy, ctx.catalog, name="Air", kind="airline", purpose="tickets",
            partner_id="shared-id",
        )
        rotate_credential(conn, "shared-id")
        assert authenticate(conn, court_credential) is not None


def test_a_subject_credential_names_its_subject(ctx: Context) -> None:
    with ctx.store.transaction() as conn:
        issued = credentials.issue_subject(conn, "k" * 32)
        holders = credentials.holders(conn)
    assert issued.startswith(credentials.PREFIXES["subject"])
    assert holders.subjects == {credentials.hash_credential(issued): "k" * 32}

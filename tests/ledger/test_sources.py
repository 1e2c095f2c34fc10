"""Sources: grants from the catalogue, one-time credentials kept only as hashes."""

from __future__ import annotations

import pytest

from xinyong.context import Context
from xinyong.credentials import hash_credential
from xinyong.errors import NotFound, SourceError
from xinyong.ledger.sources import (
    add_source,
    authenticate,
    get_source,
    list_sources,
)


def test_a_source_gets_what_its_kind_may_submit(ctx: Context) -> None:
    with ctx.store.transaction() as conn:
        source, credential = add_source(conn, ctx.catalog, name="Xicheng Tax Bureau", kind="tax")
        assert source.source_id == "xicheng-tax-bureau"
        assert set(source.categories) == set(ctx.catalog.categories_for_source_kind("tax"))
        assert "tax.credit_rating" in source.categories
        assert "judicial.defaulter.listed" not in source.categories
        stored = conn.execute("SELECT credential_hash FROM sources")
        assert stored == [(hash_credential(credential),)]
        assert credential not in str(conn.execute("SELECT * FROM sources"))
        assert authenticate(conn, credential) == source
        assert authenticate(conn, credential + "x") is None
        assert get_source(conn, "xicheng-tax-bureau") == source


def test_a_grant_can_be_narrowed_but_not_widened(ctx: Context) -> None:
    with ctx.store.transaction() as conn:
        narrow, _ = add_source(
            conn, ctx.catalog, name="Court", kind="court", categories=["judicial.defaulter.listed"]
        )
        assert narrow.categories == ("judicial.defaulter.listed",)
        with pytest.raises(SourceError, match=r"may not submit tax\.credit_rating"):
            add_source(
                conn, ctx.catalog, name="Court 2", kind="court", categories=["tax.credit_rating"]
            )
        with pytest.raises(SourceError, match="Unknown category"):
            add_source(
                conn, ctx.catalog, name="Court 3", kind="court", categories=["judicial.nonsense"]
            )
        with pytest.raises(SourceError, match="Unknown source kind 'astrologer'"):
            add_source(conn, ctx.catalog, name="X", kind="astrologer")


def test_ids_are_unique_and_well_formed(ctx: Context) -> None:
    with ctx.store.transaction() as conn:
        add_source(conn, ctx.catalog, name="Court", kind="court", source_id="court")
        with pytest.raises(SourceError, match="exists already"):
            add_source(conn, ctx.catalog, name="Another court", kind="court", source_id="court")
        with pytest.raises(SourceError, match="lower-case"):
            add_source(conn, ctx.catalog, name="Court", kind="court", source_id="Bad Id!")
        with pytest.raises(NotFound, match="No source with id 'nobody'"):
            get_source(conn, "nobody")
        assert [s.source_id for s in list_sources(conn)] == ["court"]

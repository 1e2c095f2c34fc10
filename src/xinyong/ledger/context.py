"""What the ledger needs of its caller, and the hook it runs after a merge.

The ledger sits below policy evaluation: it never imports it. A caller that keeps an
evaluated state (the command line, the HTTP service, the demo) passes an ``AfterMerge``
hook, which the ledger runs inside the merge's transaction, so that decisions never see
records without their consequences, or the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from xinyong.catalog.model import Catalog
from xinyong.settings import Settings
from xinyong.store.base import Connection, Store

# (connection, first new event id, last new event id) -> how many subjects were
# re-evaluated, or None when there is no evaluated state to keep current.
AfterMerge = Callable[[Connection, int, int], int | None]


class LedgerContext(Protocol):
    """Settings, store, catalogue and subject-key secret (xinyong.context.Context has them)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def secret(self) -> bytes: ...

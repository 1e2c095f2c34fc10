"""What every command needs: settings, the store, the catalogue and the subject-key secret.

The CLI builds one Context per invocation; the HTTP service will build one per process.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import ValidationError

from xinyong.catalog import Catalog, load_catalog
from xinyong.errors import ConfigurationError
from xinyong.ids.pseudonym import check_fingerprint, load_or_create_secret, secret_fingerprint
from xinyong.policy.loader import load_policy
from xinyong.policy.model import Policy
from xinyong.settings import Settings, explain_invalid, load_settings
from xinyong.store import Store, open_store
from xinyong.store.base import get_meta, set_meta


def settings_or_explain(**overrides: object) -> Settings:
    """The settings, or one ConfigurationError (exit 2) naming every setting that is wrong."""
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(
            f"A setting is not valid: {explain_invalid(exc)}.",
            hint="Correct it in the environment (docs/operations.md lists every setting).",
        ) from None


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: Store = open_store(settings)

    @cached_property
    def catalog(self) -> Catalog:
        return load_catalog(self.settings.catalog)

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.settings.policy)

    @cached_property
    def secret(self) -> bytes:
        """The secret, checked against the fingerprint the ledger was created with."""
        secret = load_or_create_secret(self.settings.secret, self.settings.data_dir)
        with self.store.transaction() as conn:
            stored = get_meta(conn, "secret_fingerprint")
            check_fingerprint(stored, secret)
            if stored is None:
                set_meta(conn, "secret_fingerprint", secret_fingerprint(secret))
        return secret

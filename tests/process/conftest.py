"""Due-process tests use the policy tests' ledger (a ledger on each store in turn)."""

from tests.policy.conftest import ledger

__all__ = ["ledger"]

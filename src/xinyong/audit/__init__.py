"""The hash-chained audit log and the checks that `xinyong audit verify` runs."""

from xinyong.audit.chain import Finding, append, verify_chain
from xinyong.audit.records_check import verify_records

__all__ = ["Finding", "append", "verify_chain", "verify_records"]

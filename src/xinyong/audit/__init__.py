"""The hash-chained audit log and its verification."""

from xinyong.audit.chain import Finding, append, verify_chain

__all__ = ["Finding", "append", "verify_chain"]

"""The record format (DESIGN.md, stable contract): its columns and actions."""

from __future__ import annotations

REQUIRED_COLUMNS = ("source_record_id", "subject", "category", "occurred_on")
OPTIONAL_COLUMNS = ("amount", "document", "legal_basis", "details", "supersedes", "action")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
ACTIONS = ("add", "correct", "revoke")
LINE = "_line"  # where a record stood in its file (1-based line, or row for Parquet)

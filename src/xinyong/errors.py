"""One exception hierarchy: a machine-readable code and a sentence a person can act on.

The CLI (cli/output.py) and later the HTTP API translate these once, at the edge.
"""

from __future__ import annotations


class XinyongError(Exception):
    """Base error: ``code`` is stable and machine-readable, ``str()`` is for people."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigurationError(XinyongError):
    """A setting, data directory or secret is missing or inconsistent."""

    code = "configuration"
    exit_code = 2


class CatalogError(XinyongError):
    """The catalogue file is malformed or declares something xinyong refuses to hold."""

    code = "catalog_invalid"
    exit_code = 2


class ProhibitedDataClassError(CatalogError):
    """A catalogue category declares a data class that xinyong refuses by construction."""

    code = "prohibited_data_class"


class InvalidIdentifier(XinyongError):
    """A resident identity number or unified social credit code is not valid."""

    code = "identifier_invalid"
    exit_code = 2


class FileFormatError(XinyongError):
    """An input file cannot be read at all (encoding, quoting, truncation, columns, empty)."""

    code = "file_malformed"
    exit_code = 2


class NotFound(XinyongError):
    code = "not_found"
    exit_code = 3


class SourceError(XinyongError):
    """A source is unknown, inactive, or asks for a category it may not submit."""

    code = "source_invalid"
    exit_code = 2


class StoreBusy(XinyongError):
    """Another process held the embedded store for longer than the lock timeout."""

    code = "store_busy"
    exit_code = 4


class StoreError(XinyongError):
    code = "store_error"
    exit_code = 1


class PolicyError(XinyongError):
    """A policy directory cannot be read: syntax, shape, or a reference that does not exist."""

    code = "policy_invalid"
    exit_code = 2


class NotEvaluated(XinyongError):
    """A command needs the evaluated credit state and none exists yet."""

    code = "not_evaluated"
    exit_code = 2


class DecisionError(XinyongError):
    """A decision request is malformed: unknown action, or context the action needs is missing."""

    code = "decision_invalid"
    exit_code = 2


class EngineError(XinyongError):
    """An evaluation engine failed to run a compiled policy."""

    code = "engine_failed"

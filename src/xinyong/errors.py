"""One exception hierarchy: a machine-readable code and a sentence a person can act on.

Every error xinyong raises on purpose is one of these classes. Each edge translates them
once: the command line to a message and ``exit_code`` (cli/output.py), the HTTP API to a
problem document with the status of its class (api/problems.py, one table).
tests/test_errors.py walks every class below through both.
"""

from __future__ import annotations

from typing import Any


class XinyongError(Exception):
    """Base error: ``code`` is stable and machine-readable, ``str()`` is for people."""

    code = "error"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.errors = errors  # per-field details (a request body's schema errors)
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigurationError(XinyongError):
    """A setting, data directory or secret is missing or inconsistent."""

    code = "configuration"
    exit_code = 2


class CalendarYearMissing(ConfigurationError):
    """A deadline reaches a year that the working-day calendar does not cover."""

    code = "calendar_year_missing"


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
    """A source, partner, subject or route that does not exist."""

    code = "not_found"
    exit_code = 3


class SourceError(XinyongError):
    """A source is unknown, inactive, or asks for a category it may not submit."""

    code = "source_invalid"
    exit_code = 2


class ConsentError(XinyongError):
    """A consent request that cannot be taken: unknown purpose, text not read, none to withdraw."""

    code = "consent_invalid"
    exit_code = 2


class StoreBusy(XinyongError):
    """Another process held the embedded store for longer than the lock timeout."""

    code = "store_busy"
    exit_code = 4


class StoreError(XinyongError):
    """The store failed (a database error, a file that cannot be opened)."""

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


class Forbidden(XinyongError):
    """The principal is known, but its grant does not cover what it asked."""

    code = "action_not_granted"
    exit_code = 2


class Unauthenticated(XinyongError):
    """A request without a credential, or with one nobody holds."""

    code = "credential_invalid"
    exit_code = 2


class RequestInvalid(XinyongError):
    """A request body or parameter that does not parse or does not match the schema."""

    code = "body_invalid"
    exit_code = 2


class TooLarge(XinyongError):
    """A request holds more than the service takes in one go."""

    code = "too_large"
    exit_code = 2


class MethodNotAllowed(XinyongError):
    """An HTTP method the route does not take; ``allowed`` lists those it does."""

    code = "method_not_allowed"
    exit_code = 2

    def __init__(self, message: str, *, allowed: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.allowed = allowed


class DeliveryFailed(XinyongError):
    """A notice channel (an SMTP server, an SMS gateway) did not take a notice; it is retried."""

    code = "delivery_failed"


class InternalError(XinyongError):
    """A fault of the service itself; the client learns only that it happened."""

    code = "internal"

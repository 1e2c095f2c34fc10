"""Who is signing in: a subject's identifier with the credential of its letter or its own
password, with wrong attempts counted per subject (a lock-out) and per client address.

``Authenticator`` is the seam for another way in: an OpenID Connect provider would be a
class with the same ``authenticate`` that maps the provider's verified subject claim to an
identifier and returns a ``SignedIn``; the pages and sessions stay as they are.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from xinyong import credentials
from xinyong.clock import utcnow
from xinyong.decisions.service import Service
from xinyong.errors import InvalidIdentifier
from xinyong.ids import parse_subject, subject_key
from xinyong.portal.i18n import N_

MIN_PASSWORD = 10  # characters; long passphrases are welcome, up to the form's limit
MAX_PASSWORD = 200


@dataclass(frozen=True)
class SignedIn:
    subject_key: str
    fingerprint: str  # of the password it signed in under ("" for a letter credential)
    choose_password: bool  # signed in with a letter: ask for a password of its own


@dataclass(frozen=True)
class Refused:
    """A sign-in that did not succeed: ``reason`` is a msgid for the page, ``status`` the
    page's HTTP status, ``until`` the end of a lock-out."""

    reason: str
    status: int
    until: dt.datetime | None = None


WRONG = N_("The identifier, credential or password is wrong.")
LOCKED = N_("Too many wrong attempts: sign-in for this identifier is locked for a while.")
THROTTLED = N_("Too many attempts from your address. Wait a few minutes and try again.")


class Authenticator(Protocol):
    def authenticate(self, service: Service, identifier: str, secret: str) -> SignedIn | Refused: ...


class LetterOrPassword:
    """The built-in way in. A letter credential signs in while the subject has no password,
    or when it was issued after the password was set (a new letter resets a forgotten
    password); otherwise the password does. Wrong attempts lock the identifier."""

    def authenticate(self, service: Service, identifier: str, secret: str) -> SignedIn | Refused:
        settings = service.settings
        try:
            key = subject_key(service.secret, parse_subject(identifier).identifier)
        except InvalidIdentifier:
            credentials.password_matches_nobody(secret)  # same cost as a real check
            return Refused(WRONG, 401)
        with service.store_lock, service.ctx.store.transaction() as conn:
            state = credentials.login(conn, key)
            now = utcnow()
            if state.locked_until is not None and state.locked_until > now:
                return Refused(LOCKED, 429, state.locked_until)
            issued = credentials.letter_issued_at(conn, key, secret)
            letter_ok = issued is not None and (
                not state.has_password
                or (state.changed_at is not None and issued > state.changed_at)
            )
            if letter_ok:
                credentials.record_attempt(conn, key, True, 0, dt.timedelta())
                return SignedIn(key, state.fingerprint, True)
            if credentials.password_matches(conn, key if state.has_password else None, secret):
                credentials.record_attempt(conn, key, True, 0, dt.timedelta())
                return SignedIn(key, state.fingerprint, False)
            credentials.record_attempt(
                conn,
                key,
                False,
                settings.portal_max_attempts,
                dt.timedelta(minutes=settings.portal_lockout_minutes),
            )
        return Refused(WRONG, 401)


def check_new_password(password: str, repeated: str, identifier: str) -> str | None:
    """Why ``password`` cannot be used (a msgid), or None."""
    if password != repeated:
        return N_("The two passwords differ.")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return N_("Choose a password of at least 10 characters.")
    if identifier and identifier.upper() in password.upper():
        return N_("The password may not contain your identifier.")
    return None


class Throttle:
    """At most ``limit`` sign-in attempts per client address in ``window`` seconds (in this
    process; the per-identifier lock-out is in the store and holds across processes)."""

    def __init__(self, limit: int, window: float = 900.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 100_000:  # forget idle addresses rather than grow
                self._seen = {
                    c: d for c, d in self._seen.items() if d and d[-1] > now - self.window
                }
            seen = self._seen.setdefault(client, collections.deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(now)
            return True

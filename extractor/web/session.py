"""Sessions of the review station: who is logged in, the CSRF token of each session, and flash messages.

Sessions live in the server's memory, keyed by a random cookie (HttpOnly, SameSite=Strict): logging out or
restarting the server ends them, and no secret has to be stored anywhere. Each session has its own random CSRF
token, put in every POST form and checked with hmac.compare_digest.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "selfeval_session"
IDLE_SECONDS = 12 * 3600  # a reviewer's working day; then log in again
MAX_SESSIONS = 10_000  # a client that drops its cookie on every request must not grow memory without end


@dataclass
class Session:
    token: str
    csrf: str
    user: str | None = None  # the account name once logged in
    account: str | None = None  # accounts.account_stamp of that account at login: a re-made account is another
    seen: float = field(default_factory=time.monotonic)
    flash: list[tuple[str, str]] = field(default_factory=list)  # (level: ok|error|info, text)

    def csrf_matches(self, given: str | None) -> bool:
        """Given the token a form sent, return whether it is this session's (constant-time compare)."""
        return bool(given) and hmac.compare_digest(given.encode("utf-8"), self.csrf.encode("utf-8"))

    def pop_flash(self) -> list[tuple[str, str]]:
        out, self.flash = self.flash, []
        return out


class Sessions:
    """The sessions of one server (thread-safe: Starlette runs the page functions in a thread pool)."""

    def __init__(self) -> None:
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, token: str | None) -> Session | None:
        """Given a cookie's token, return its live session, or None (unknown or idle too long)."""
        if not token:
            return None
        with self._lock:
            s = self._by_token.get(token)
            if s is None:
                return None
            if time.monotonic() - s.seen > IDLE_SECONDS:
                del self._by_token[token]
                return None
            s.seen = time.monotonic()
            return s

    def new(self, user: str | None = None, flash: list[tuple[str, str]] | None = None,
            account: str | None = None) -> Session:
        """Return a fresh session with new random cookie and CSRF tokens (also on login: no fixation)."""
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), user, account, flash=list(flash or []))
        with self._lock:
            if len(self._by_token) >= MAX_SESSIONS:
                self._expire()
            self._by_token[s.token] = s
        return s

    def end(self, s: Session) -> None:
        with self._lock:
            self._by_token.pop(s.token, None)

    def _expire(self) -> None:
        # The oldest half goes, sessions nobody logged in to first: anyone can make those by the thousand (a request
        # without a cookie makes one), and that must not log the reviewers out (called with the lock held).
        by_age = sorted(self._by_token.values(), key=lambda s: (s.user is not None, s.seen))
        for s in by_age[: len(by_age) // 2 + 1]:
            del self._by_token[s.token]


MAX_FAILED_LOGINS = 10  # from one address within LOGIN_WINDOW_SECONDS; then its logins are refused for a while
LOGIN_WINDOW_SECONDS = 15 * 60
MAX_ADDRESSES = 10_000


class LoginThrottle:
    """Failed logins by client address: after MAX_FAILED_LOGINS within the window, that address may not try again
    until the oldest of them is out of it. Keyed by address, not by name, so that a guesser cannot lock a reviewer
    out from the reviewer's own machine (thread-safe; in memory, like the sessions)."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def attempt(self, address: str) -> float:
        """Given a client address about to try a password, return how long it must wait first (then it may not try
        now), or 0 and count the attempt as failed until it succeeds: counted up front, so that many guesses sent
        at once cannot all pass the check before any of them has failed."""
        with self._lock:
            recent = self._recent(address)
            if len(recent) >= MAX_FAILED_LOGINS:
                return max(0.001, recent[0] + LOGIN_WINDOW_SECONDS - time.monotonic())
            if len(self._failures) >= MAX_ADDRESSES and address not in self._failures:
                for a in [a for a in self._failures if not self._recent(a)]:
                    del self._failures[a]
            self._failures[address] = [*recent, time.monotonic()]
            return 0.0

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def _recent(self, address: str) -> list[float]:
        # called with the lock held
        since = time.monotonic() - LOGIN_WINDOW_SECONDS
        return [t for t in self._failures.get(address, []) if t > since]

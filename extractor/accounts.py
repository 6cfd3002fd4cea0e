"""Reviewer accounts for `selfeval serve`: names and salted scrypt hashes in the database's `users` table.

A password is never stored: only ``scrypt$n$r$p$salt$hash`` (hex), with a random salt per account, so two
accounts with one password have different hashes and the parameters can be raised later without breaking old
rows. Checking compares in constant time, and an unknown name costs one hash like a known one, so the time a
login takes does not tell whether a name exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

import sqlite_utils

from .store import immediate, now

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 32
SALT_BYTES = 16
MIN_PASSWORD = 8
MAX_NAME = 64
# A hash of no password, checked against when the name is unknown so that both cases cost the same.
_DUMMY = None


class AccountError(ValueError):
    """An account operation that cannot be done; the message (Chinese, then English) says why and what to do."""


@dataclass
class Account:
    name: str
    created_at: str


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # maxmem: scrypt needs 128*n*r bytes; OpenSSL's default cap (32 MB) is enough for these parameters, but a row
    # written later with larger ones must not fail for the cap alone.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=256 * n * r + 1024 * 1024)


def password_to_hash(password: str) -> str:
    """Given a password, return its stored form: scrypt$n$r$p$salt$hash with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Given a password and a stored hash, return whether they match (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = bytes.fromhex(digest)
        got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p), len(want))
    except (ValueError, TypeError):
        return False  # a damaged row lets nobody in
    return hmac.compare_digest(got, want)


def check_name(name: str) -> str:
    """Given a name as typed, return it normalised (NFC, trimmed), or raise AccountError when it cannot be one."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise AccountError("用户名不能为空 the name is empty: give a name")
    if len(name) > MAX_NAME:
        raise AccountError(f"用户名过长 the name is longer than {MAX_NAME} characters: give a shorter one")
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in name):
        raise AccountError("用户名含控制字符或换行 the name holds control characters or line breaks: type it plainly")
    return name


def check_password(password: str) -> None:
    """Given a new password, raise AccountError when it is too short to be one."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符 the password needs at least {MIN_PASSWORD} characters")


def _has_table(db: sqlite_utils.Database) -> bool:
    # A database opened read-only from an older schema has no users table yet: it has no accounts.
    return "users" in db.table_names()


def has_accounts(db: sqlite_utils.Database) -> bool:
    """Given the store, return whether any reviewer account exists."""
    return _has_table(db) and db.execute("SELECT count(*) FROM users").fetchone()[0] > 0


def list_accounts(db: sqlite_utils.Database) -> list[Account]:
    """Given the store, return every account by name (never the hashes)."""
    if not _has_table(db):
        return []
    return [Account(r[0], r[1]) for r in db.execute("SELECT name, created_at FROM users ORDER BY name")]


def add_account(db: sqlite_utils.Database, name: str, password: str) -> Account:
    """Given a name and a password, store a new account; raise AccountError when the name is taken or either is
    unusable."""
    name = check_name(name)
    check_password(password)
    stored = password_to_hash(password)
    with immediate(db):
        if db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise AccountError(f"用户 {name} 已存在 account {name!r} exists: `selfeval user remove {name}` first to "
                               f"set a new password")
        created = now()
        db["users"].insert({"name": name, "password_hash": stored, "created_at": created})
    return Account(name, created)


def remove_account(db: sqlite_utils.Database, name: str) -> None:
    """Given a name, delete its account; raise AccountError when there is none."""
    name = unicodedata.normalize("NFC", name).strip()
    with immediate(db):
        if not db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise AccountError(f"没有用户 {name} no account {name!r}: see `selfeval user list`")
        db.execute("DELETE FROM users WHERE name = ?", [name])


def account_stamp(db: sqlite_utils.Database, name: str) -> str | None:
    """Given a name, return a fingerprint of its account as it is now (None when there is none): a session keeps
    the one it logged in with, so removing an account, or removing and adding it again with a new password, ends
    the sessions of the old one. A digest of the stored hash, whose random salt no re-made account shares."""
    row = db.execute("SELECT password_hash FROM users WHERE name = ?", [name]).fetchone() if _has_table(db) else None
    return None if row is None else hashlib.sha256(row[0].encode("utf-8")).hexdigest()


def login_to_name(db: sqlite_utils.Database, name: str, password: str) -> str | None:
    """Given a name and password as typed at login, return the account name when they match, else None."""
    global _DUMMY
    if _DUMMY is None:  # made before the name is looked up, so that not even the first login tells it apart
        _DUMMY = password_to_hash(secrets.token_hex(8))
    name = unicodedata.normalize("NFC", name).strip()
    row = db.execute("SELECT name, password_hash FROM users WHERE name = ?", [name]).fetchone() \
        if _has_table(db) else None
    if row is None:
        password_matches(password, _DUMMY)  # the same work as for a real account
        return None
    return row[0] if password_matches(password, row[1]) else None

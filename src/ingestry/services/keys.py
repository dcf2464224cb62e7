"""API keys: created once (the token is shown once), stored as a hash, checked in
constant time.

A token is `ik_<prefix>_<secret>`. The prefix (public, unique) finds the row; the
secret's sha256 is compared with `hmac.compare_digest`. The secret has 256 bits of
entropy, so a fast hash is enough (a slow password hash protects low-entropy secrets).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence

from ingestry.domain.clock import Clock, utc_now
from ingestry.domain.errors import AmbiguousKeyError, KeyNameTakenError
from ingestry.domain.jobs import ApiKey
from ingestry.services.ports.control import ApiKeyStore as ApiKeyStore

TOKEN_PREFIX = "ik"

__all__ = ["AmbiguousKeyError", "ApiKeyStore", "KeyNameTakenError", "KeyService"]


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_token(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed token, else None."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyService:
    def __init__(self, store: ApiKeyStore, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def create(
        self, name: str, sources: Sequence[str], *, admin: bool = False
    ) -> tuple[ApiKey, str]:
        """A new key and its token (the only time the token exists in clear)."""
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(
            prefix=prefix,
            name=name,
            sources=tuple(dict.fromkeys(sources)),
            admin=admin,
            created_at=self.clock(),
            secret_hash=secret_hash(secret),
        )
        self.store.add(key)
        return key, f"{TOKEN_PREFIX}_{prefix}_{secret}"

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key this token belongs to, else None (unknown, wrong, revoked)."""
        parts = split_token(token)
        if parts is None:
            return None
        prefix, secret = parts
        key = self.store.find(prefix)
        # hash even when the prefix is unknown, so both paths cost the same
        given = secret_hash(secret)
        expected = key.secret_hash if key is not None else secret_hash("")
        if not hmac.compare_digest(given, expected) or key is None or not key.active:
            return None
        return key

    def list(self) -> list[ApiKey]:
        return self.store.all()

    def revoke(self, prefix_or_name: str) -> int:
        return self.store.revoke(prefix_or_name, self.clock())


class CachedAuthenticator:
    """Remembers a successful authentication for `ttl` seconds (keyed by the token's
    hash, never the token), sparing a database read per request. A revocation reaches
    a running API process within `ttl`; a failed authentication is never cached."""

    def __init__(self, keys: KeyService, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.keys = keys
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: dict[bytes, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> ApiKey | None:
        """The key if this token was verified less than `ttl` ago (no I/O)."""
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            hit = self._seen.get(digest)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def authenticate(self, token: str) -> ApiKey | None:
        hit = self.cached(token)
        if hit is not None:
            return hit
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        key = self.keys.authenticate(token)
        with self._lock:
            if key is None:
                self._seen.pop(digest, None)
            else:
                if len(self._seen) >= self.max_entries:
                    self._seen.clear()
                self._seen[digest] = (now + self.ttl, key)
        return key

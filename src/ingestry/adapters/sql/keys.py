"""ApiKeyStore and IdempotencyStore on their control tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase, aware
from ingestry.adapters.sql.control_schema import api_keys, idempotency_keys
from ingestry.domain.errors import AmbiguousKeyError, KeyNameTakenError
from ingestry.domain.jobs import ApiKey
from ingestry.services.ports import StoredRequest


def _key(row: sa.Row[Any]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        prefix=m["prefix"],
        name=m["name"],
        sources=tuple(m["sources"] or ()),
        admin=bool(m["admin"]),
        created_at=aware(m["created_at"]),  # type: ignore[arg-type]
        revoked_at=aware(m["revoked_at"]),
        secret_hash=bytes(m["secret_hash"]),
    )


class SqlApiKeys:
    def __init__(self, db: ControlDatabase) -> None:
        self.db = db

    def add(self, key: ApiKey) -> None:
        with self.db.write() as conn:
            if not self.db.sqlite:  # SQLite's BEGIN IMMEDIATE serializes creates already
                conn.exec_driver_sql("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE")
            taken = self._active(conn, api_keys.c.name == key.name)
            if taken:
                raise KeyNameTakenError(key.name, taken[0])
            conn.execute(
                api_keys.insert().values(
                    prefix=key.prefix, name=key.name, secret_hash=key.secret_hash,
                    sources=list(key.sources), admin=key.admin, created_at=key.created_at,
                )
            )  # fmt: skip

    def find(self, prefix: str) -> ApiKey | None:
        with self.db.read() as conn:
            row = conn.execute(api_keys.select().where(api_keys.c.prefix == prefix)).first()
        return _key(row) if row is not None else None

    def all(self) -> list[ApiKey]:
        with self.db.read() as conn:
            return [_key(r) for r in conn.execute(api_keys.select().order_by(api_keys.c.id))]

    def revoke(self, prefix_or_name: str, now: datetime) -> int:
        with self.db.write() as conn:
            found = self._active(conn, api_keys.c.prefix == prefix_or_name) or self._active(
                conn, api_keys.c.name == prefix_or_name
            )
            if len(found) > 1:
                raise AmbiguousKeyError(prefix_or_name, found)
            done = conn.execute(
                api_keys.update()
                .where(api_keys.c.prefix.in_(found), api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return int(done.rowcount)

    @staticmethod
    def _active(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[str]:
        """Prefixes of the active keys matching `where`, oldest first."""
        query = (
            sa.select(api_keys.c.prefix)
            .where(where, api_keys.c.revoked_at.is_(None))
            .order_by(api_keys.c.id)
        )
        return [str(p) for p in conn.execute(query).scalars()]


class SqlIdempotency:
    def __init__(self, db: ControlDatabase) -> None:
        self.db = db

    def begin(
        self, owner: str, key: str, fingerprint: bytes, now: float, stale_after: float
    ) -> StoredRequest | None:
        where = sa.and_(idempotency_keys.c.owner == owner, idempotency_keys.c.key == key)
        for _ in range(3):
            try:
                with self.db.write() as conn:
                    row = conn.execute(idempotency_keys.select().where(where)).first()
                    if row is None:
                        conn.execute(
                            idempotency_keys.insert().values(
                                owner=owner, key=key, fingerprint=fingerprint,
                                state="in_flight", created=now,
                            )
                        )  # fmt: skip
                        return None
                    m = row._mapping
                    stale = m["state"] == "in_flight" and m["created"] < now - stale_after
                    if stale and bytes(m["fingerprint"]) == fingerprint:
                        conn.execute(idempotency_keys.update().where(where).values(created=now))
                        return None
                    return StoredRequest(
                        bytes(m["fingerprint"]),
                        m["state"],
                        m["status_code"],
                        bytes(m["response"]) if m["response"] is not None else None,
                    )
            except sa.exc.IntegrityError:
                continue  # another process inserted the key first: read what it stored
        raise RuntimeError("idempotency key kept conflicting")  # pragma: no cover

    def finish(self, owner: str, key: str, status_code: int, response: bytes) -> None:
        with self.db.write() as conn:
            conn.execute(
                idempotency_keys.update()
                .where(idempotency_keys.c.owner == owner, idempotency_keys.c.key == key)
                .values(state="done", status_code=status_code, response=response)
            )

    def renew(self, owner: str, key: str, now: float) -> None:
        with self.db.write() as conn:
            conn.execute(
                idempotency_keys.update()
                .where(
                    idempotency_keys.c.owner == owner,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.state == "in_flight",
                )
                .values(created=now)
            )

    def abandon(self, owner: str, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                idempotency_keys.delete().where(
                    idempotency_keys.c.owner == owner,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.state == "in_flight",
                )
            )

    def prune(self, before: float) -> int:
        with self.db.write() as conn:
            done = conn.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created < before)
            )
            return int(done.rowcount)

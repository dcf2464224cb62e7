"""The Redis record cache: shared by every API process, worker and CLI on one Redis.

Keys (DESIGN.md, capability 13): `ingestry:record:{srn}:{version}` holds a version,
`ingestry:record:{srn}:current` the pointer, `ingestry:record:{srn}:{version}:history`
the versions up to one. Every key has the TTL. The pointer moves forward only, in one
Lua script (atomic on the server), so racing readers and invalidations cannot undo a
newer version. Values are pickled `Record`s: the cache's Redis is trusted like the
database (docs/cache.md says why this is not JSON).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any, TypeVar

from ingestry.adapters.cache.counters import Counters
from ingestry.domain.records import Record
from ingestry.services.ports import CacheStats

PREFIX = "ingestry:record:"
T = TypeVar("T")

#: KEYS[1] the pointer; ARGV[1] version, ARGV[2] TTL ms. 1 when it moved.
ADVANCE = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

#: Invalidate this many pointers per round trip.
CHUNK = 1000


def pointer_key(srn: str) -> str:
    return f"{PREFIX}{srn}:current"


def version_key(srn: str, version: int) -> str:
    return f"{PREFIX}{srn}:{version}"


def history_key(srn: str, version: int) -> str:
    return f"{PREFIX}{srn}:{version}:history"


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisRecordCache:
    """A redis-py client plus this process's counters."""

    def __init__(self, client: Any, ttl: float) -> None:
        self.client = client
        self.ttl_ms = max(1, int(ttl * 1000))
        self._advance = client.register_script(ADVANCE)
        self._counters = Counters("redis")

    def current(self, srn: str) -> int | None:
        found = self.client.get(pointer_key(srn))
        return int(found) if found is not None else None

    def get(self, srn: str, version: int) -> Record | None:
        found = self.client.get(version_key(srn, version))
        return _loads(found, Record)

    def get_history(self, srn: str, version: int) -> list[Record] | None:
        found = _loads(self.client.get(history_key(srn, version)), list)
        return found

    def put(self, record: Record) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(version_key(record.srn, record.version), pickle.dumps(record), px=self.ttl_ms)
        self._advance(
            keys=[pointer_key(record.srn)], args=[record.version, self.ttl_ms], client=pipe
        )
        pipe.execute()

    def put_history(self, srn: str, versions: Sequence[Record]) -> None:
        if not versions:
            return
        last = versions[-1].version
        pipe = self.client.pipeline(transaction=False)
        pipe.set(history_key(srn, last), pickle.dumps(list(versions)), px=self.ttl_ms)
        self._advance(keys=[pointer_key(srn)], args=[last, self.ttl_ms], client=pipe)
        pipe.execute()

    def advance(self, items: Sequence[tuple[str, int]]) -> int:
        moved = 0
        for start in range(0, len(items), CHUNK):
            pipe = self.client.pipeline(transaction=False)
            for srn, version in items[start : start + CHUNK]:
                self._advance(keys=[pointer_key(srn)], args=[version, self.ttl_ms], client=pipe)
            moved += sum(int(n) for n in pipe.execute())
        self._counters.count(invalidations=moved)
        return moved

    def forget(self, srns: Sequence[str]) -> None:
        for srn in srns:
            keys = list(self.client.scan_iter(match=f"{PREFIX}{_glob_escape(srn)}:*", count=500))
            if keys:
                self.client.delete(*keys)

    def count(self, *, hits: int = 0, misses: int = 0) -> None:
        self._counters.count(hits=hits, misses=misses)

    def stats(self) -> CacheStats:
        return self._counters.stats()

    def close(self) -> None:
        self.client.close()


def _loads(data: bytes | None, kind: type[T]) -> T | None:
    if data is None:
        return None
    value = pickle.loads(data)
    return value if isinstance(value, kind) else None

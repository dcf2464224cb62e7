"""TOAST compression of the large values our sessions write: lz4 where the server has it.

PostgreSQL compresses a value of more than ~2 KB before storing it, with pglz unless
told otherwise. A harvest keeps every page's body (~90 KB of JSON for a page of 1,000
items, `harvest_pages.body`): 100 such pages cost the server 0.15 s of CPU with pglz
and 0.04 s with lz4, stored in 2.5 MB against pglz's 2.1 MB (bench/README.md, "lz4
for harvested pages on PostgreSQL"); lz4 also reads back faster. So every session of
ours sets `default_toast_compression = lz4` when the server offers it (PostgreSQL 14
and later, built with lz4: Debian's and the official images are); a server without
it keeps its own default. A column's own `COMPRESSION` still wins.

12-factor override: INGESTRY_PG_TOAST_COMPRESSION=lz4 (the default) or `server` (leave
the server's or the role's setting alone).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ingestry.domain.errors import ConfigError

ENV = "INGESTRY_PG_TOAST_COMPRESSION"
CHOICES = ("lz4", "server")

_OFFERED = "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"


def choice(env: Mapping[str, str] | None = None) -> str:
    """The configured choice (`lz4` or `server`); a ConfigError names the variable."""
    value = (os.environ if env is None else env).get(ENV, "lz4").strip().lower() or "lz4"
    if value not in CHOICES:
        raise ConfigError(f"{ENV}={value!r}: use one of {', '.join(CHOICES)}")
    return value


def apply(cursor: Any, env: Mapping[str, str] | None = None) -> None:
    """Set lz4 on the session of `cursor` (anything with `execute` and `fetchone`) when
    asked for and offered."""
    if choice(env) != "lz4":
        return
    cursor.execute(_OFFERED)
    row = cursor.fetchone()
    if row is not None and row[0] is not None and "lz4" in row[0]:
        cursor.execute("SET default_toast_compression = 'lz4'")

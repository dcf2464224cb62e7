"""Time as the core sees it: timezone-aware UTC, rendered as fixed-width ISO 8601."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed width, so ISO strings sort like the instants they name."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def run_srn(kind: str, moment: datetime) -> str:
    """A unique, time-ordered srn for a run (ingest, replay, job)."""
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"srn:ingestry:{kind}:{stamp}-{secrets.token_hex(4)}"

"""Cron schedules on croniter (the `harvest` extra): the next due moment after one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ingestry.domain.backups import BackupError
from ingestry.domain.errors import install_hint


def next_after(schedule: str) -> Callable[[datetime], datetime]:
    """A function giving the first moment after `moment` that `schedule` names (UTC)."""
    try:
        from croniter import croniter  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise BackupError(f"backup.schedule needs croniter: {install_hint('harvest')}") from None
    if not croniter.is_valid(schedule):
        raise BackupError(f"backup.schedule: '{schedule}' is not a valid cron expression")

    def following(moment: datetime) -> datetime:
        value: datetime = croniter(schedule, moment).get_next(datetime)
        return value

    return following

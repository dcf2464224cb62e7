"""CronTimes over croniter (the `harvest` extra)."""

from __future__ import annotations

from datetime import datetime

from ingestry.domain.errors import ConfigError


class CroniterTimes:
    def __init__(self) -> None:
        try:
            from croniter import croniter  # type: ignore[import-untyped]
        except ImportError:
            raise ConfigError("schedule: needs croniter: pip install 'ingestry[harvest]'") from None
        self._croniter = croniter

    def previous(self, expression: str, now: datetime) -> datetime:
        # croniter's get_prev is strictly before its start: start a microsecond later
        # so a run due exactly `now` is due now
        start = now.timestamp() + 1e-6
        found: datetime = self._croniter(expression, now.fromtimestamp(start, now.tzinfo)).get_prev(
            datetime
        )
        return found

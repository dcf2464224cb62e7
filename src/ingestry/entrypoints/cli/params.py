"""Command-line parameter types shared by commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click


class Moment(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 date or time (`2026-11-01`, `2026-11-01T10:00:00+01:00`); naive = UTC."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date or time", param, ctx)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


MOMENT = Moment()

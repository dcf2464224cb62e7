"""The Jinja2 environment of the dashboard: templates shipped in the package, HTML
autoescaped, loaded once per process."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote

import jinja2


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ingestry.entrypoints.api.ui", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["number"] = _number
    env.filters["url"] = lambda value: quote(str(value), safe=":")
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)

"""Rendering helpers: JSON for scripts, rich tables for people.

rich is imported when a table is drawn, not with the module: every command module
imports this one, and `ingestry --help` must stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click
import orjson

if TYPE_CHECKING:
    from rich.console import Console

    from ingestry.domain.records import Record


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj, default=_default).decode()
    except TypeError:  # integers beyond 64 bits
        import json

        return json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":"))


def echo_json(obj: Any) -> None:
    click.echo(dumps(obj))


def echo_record(record: Record) -> None:
    """The contract's record shape (plus provenance and extractor fields) as one JSON
    line: the bytes an export writes, the same from either backend."""
    from ingestry.services.export import record_line

    click.echo(record_line(record), nl=False)


#: The width of text output that is not a terminal: as wide as the lines are, so a
#: table in a pipe or a file never wraps (or cuts) an identifier.
UNBOUNDED = 1 << 20


def console(err: bool = False) -> Console:
    """Text is printed as it is: no markup, no emoji codes, nothing highlighted (user
    data such as `[bold]` or `:car:` in an id must print as written)."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    width = None if stream.isatty() else UNBOUNDED
    return Console(
        stderr=err, highlight=False, soft_wrap=False, markup=False, emoji=False, width=width
    )


def table(
    title: str | None,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    out: Console | None = None,
) -> None:
    """A table of plain text; on a narrow terminal long cells fold onto more lines,
    never cut short (identifiers stay whole)."""
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=None if title is None else Text(title), show_lines=False)
    for header in headers:
        grid.add_column(Text(header), overflow="fold")
    for row in rows:
        grid.add_row(*(Text("" if v is None else str(v)) for v in row))
    (out or console()).print(grid)

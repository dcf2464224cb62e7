"""SQL analytics over the records: an engine (DuckDB) that reads views fed in pages.

The service hands the engine one `View` per convention the SQL names: its typed
columns and a function that yields pages of columns read from storage by a column scan,
so the engine never touches the database and needs no extension or network to read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ingestry.domain.conventions import ColumnType

#: Pages of columns: one sequence of values per view column, in the view's order.
Pages = Callable[[], Iterator[Sequence[Sequence[Any]]]]


@dataclass(frozen=True, slots=True)
class ViewColumn:
    """One column of a view. `type` None: text as given (an exact decimal's text, a JSON
    document's text); a decimal with `scale` is a fixed-point number."""

    name: str
    type: ColumnType | None
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True, slots=True)
class View:
    name: str
    columns: tuple[ViewColumn, ...]
    pages: Pages
    #: read more than once by the statement (a self-join): the engine materializes it
    reread: bool = False
    #: a Parquet copy of the whole convention to read instead of `pages` (every column
    #: of `columns`; see docs/data-out.md, "Parquet copies")
    file: str | None = None


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Column names and the rows (Python values: Decimal stays Decimal)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class SqlEngine(Protocol):
    """Runs one read-only statement over views."""

    def tables(self, sql: str, known: Iterable[str] = ()) -> dict[str, int]:
        """The names the statement reads from (lower case) and how often each appears
        (where the parser cannot say, those of `known` the text names); raises
        QueryError when it is not one read-only query (SELECT / WITH)."""
        ...

    def columns(self, sql: str) -> frozenset[str] | None:
        """The column names the statement refers to, or None when it may read every
        column of a table (`*`, a NATURAL join, …): what a view may leave out."""
        ...

    def run(self, sql: str, views: Sequence[View]) -> QueryResult: ...

    def arrow(self, sql: str, views: Sequence[View]) -> Any:
        """The result as an Arrow table."""
        ...


@dataclass(frozen=True, slots=True)
class CopyState:
    """A convention's Parquet copy as last written: the file, the store's change mark
    taken before its rows were read, the columns' signature, its size."""

    convention: str
    file: str
    mark: str
    signature: str
    rows: int
    bytes: int
    built_at: str


class CopyStore(Protocol):
    """Where Parquet copies of conventions are kept (a directory each)."""

    def current(self, convention: str) -> CopyState | None:
        """The copy last swapped in, if its file is there."""
        ...

    def write(self, view: View, mark: str, signature: str) -> CopyState:
        """Write every page of `view` as a new copy and swap it in atomically (a reader
        sees the old copy or the new one, never a part)."""
        ...

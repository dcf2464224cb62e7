"""DuckDB as the SQL engine of `ingestry query` (the `analytics` extra).

An in-memory DuckDB, with extension auto-install and auto-load off and the
configuration locked before the user's statement runs: it cannot fetch anything from
the network. Views arrive as Arrow: a `RecordBatchReader` per view, streamed page by
page from storage (flat memory), or a materialized table when the statement reads the
view more than once (a reader can be scanned once only). DuckDB has no read-only
in-memory database, so read-only means: exactly one statement, and a query (SELECT,
WITH … SELECT, VALUES) as DuckDB's own parser classifies it; COPY, ATTACH, INSERT,
CREATE, SET, PRAGMA, INSTALL … are refused before anything runs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ingestry.domain.conventions import ColumnType
from ingestry.domain.errors import QueryError, StatementTimeoutError, install_hint
from ingestry.services.ports import QueryResult, View, ViewColumn

#: DuckDB settings fixed before a statement runs (then locked).
SETTINGS = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _arrow_type(column: ViewColumn) -> Any:
    import pyarrow as pa

    kind = column.type
    if kind is None or kind is ColumnType.TEXT:
        return pa.string()
    if kind is ColumnType.INTEGER:
        return pa.int64()
    if kind is ColumnType.FLOAT:
        return pa.float64()
    if kind is ColumnType.DECIMAL:
        return pa.decimal128(column.precision or 38, column.scale or 0)
    if kind is ColumnType.BOOLEAN:
        return pa.bool_()
    if kind is ColumnType.TIMESTAMP:
        return pa.timestamp("us", tz="UTC")
    if kind is ColumnType.DATE:
        return pa.date32()
    return pa.string()


def arrow_schema(view: View) -> Any:
    import pyarrow as pa

    return pa.schema([(c.name, _arrow_type(c)) for c in view.columns])


def _batches(view: View, schema: Any) -> Iterator[Any]:
    import pyarrow as pa

    names = [c.name for c in view.columns]
    for page in view.pages():
        arrays = []
        for index, values in enumerate(page):
            field = schema.field(index)
            try:
                arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                raise QueryError(
                    f"view {view.name!r}, column {names[index]!r}: a value does not fit "
                    f"{field.type} ({exc}); declare the column's precision and scale"
                ) from None
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _reader(view: View) -> Any:
    import pyarrow as pa

    schema = arrow_schema(view)
    reader = pa.RecordBatchReader.from_batches(schema, _batches(view, schema))
    return reader.read_all() if view.reread else reader


def _connect() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise QueryError(
            f"ingestry query needs DuckDB ({exc}): {install_hint('analytics')}"
        ) from None
    return duckdb.connect(":memory:", config=dict(SETTINGS))


#: AST nodes that read columns the statement does not name.
WIDE_NODES = frozenset({"PIVOT", "TABLE_FUNCTION", "SHOW_REF", "UNPIVOT"})


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every object in a parse tree (json_serialize_sql's output)."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


#: Statement types a query may be.
QUERY_TYPES = frozenset({"SELECT"})


class DuckDbEngine:
    """The SqlEngine port on DuckDB."""

    def __init__(self, *, files: bool = True, timeout: float | None = None) -> None:
        """`files=False`: no file (or URL) can be read, only the views (an API caller
        must not read the server's files); `timeout`: seconds before the statement is
        interrupted (None or 0: no limit)."""
        self._parser: Any = None
        #: the kept connection is not thread-safe: statements are read under this lock
        #: (each statement then runs on a cursor of its own)
        self._lock = threading.Lock()
        self.files = files
        self.timeout = timeout or None

    def _parse(self) -> Any:
        """One in-memory database, kept: a DuckDB connection costs ~20-70 ms, and a
        query used to open four. Its configuration (UTC, file access, then locked) is
        set once; the connection itself only reads statements, and each statement runs
        on a cursor of its own (~0.03 ms; a cursor's views and registrations are its
        own, dropped when it closes)."""
        if self._parser is None:
            con = _connect()
            con.execute("SET GLOBAL TimeZone = 'UTC'")  # GLOBAL: every cursor's too
            if not self.files:
                con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            self._parser = con
        return self._parser

    def tables(self, sql: str, known: Iterable[str] = ()) -> dict[str, int]:

        with self._lock:
            return self._tables(sql, known)

    def _tables(self, sql: str, known: Iterable[str]) -> dict[str, int]:
        import duckdb

        con = self._parse()
        try:
            statements = con.extract_statements(sql)
            if len(statements) != 1:
                raise QueryError(
                    f"ingestry query runs exactly one statement (got {len(statements)}); "
                    "run them one at a time"
                )
            kind = statements[0].type.name
            if kind not in QUERY_TYPES:
                raise QueryError(
                    f"ingestry query is read-only: a {kind} statement is refused; write "
                    "a SELECT (or WITH … SELECT) query, and use ingestry export or "
                    "--into SOURCE to write results"
                )
        except duckdb.Error as exc:
            raise QueryError(f"cannot read the SQL: {exc}") from None
        try:
            names = {n.lower() for n in con.get_table_names(sql)}
        except duckdb.Error:  # it binds a little (USING columns): scan for the names
            names = {n for n in known if _mentions(sql, n)}
        return {n: _mentions(sql, n) for n in names}

    def columns(self, sql: str) -> frozenset[str] | None:
        """The column names the statement refers to (lower case), or None when it may
        use every column of a table: `*`, COLUMNS(…), a NATURAL join, PIVOT, a table
        function, a table alias used as a row value, or a parse DuckDB cannot print."""
        import json

        try:
            with self._lock:
                printed = self._parse().execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
        except Exception:
            return None
        tree = json.loads(printed[0][0]) if printed else {"error": True}
        if tree.get("error"):
            return None
        names: set[str] = set()
        tables: set[str] = set()
        singles: set[str] = set()
        for node in _nodes(tree):
            if (
                node.get("class") == "STAR"
                or node.get("ref_type") == "NATURAL"
                or node.get("type") in WIDE_NODES
            ):
                return None
            if node.get("type") == "BASE_TABLE":
                tables |= {
                    str(node.get("table_name", "")).lower(),
                    str(node.get("alias", "")).lower(),
                }
            for key in ("column_names", "using_columns"):
                names |= {str(n).lower() for n in node.get(key) or ()}
            refs: list[Any] = list(node.get("column_names") or ())
            if len(refs) == 1:
                singles.add(str(refs[0]).lower())
        if singles & (tables - {""}):  # `SELECT o FROM "order" o`: the whole row
            return None
        return frozenset(names)

    def _prepared(self, views: Sequence[View]) -> Any:
        with self._lock:
            con = self._parse().cursor()
        for view in views:
            if view.file is not None:  # a Parquet copy: DuckDB reads it at its own speed
                name, path = view.name.replace('"', '""'), view.file.replace("'", "''")
                con.execute(f"CREATE TEMP VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
            else:
                con.register(view.name, _reader(view))
        return con

    def _execute(self, sql: str, views: Sequence[View]) -> Any:
        import duckdb

        self.tables(sql)  # read-only, one statement: checked before any view is read
        con = self._prepared(views)
        try:
            with self._deadline(con):
                return con, con.execute(sql)
        except duckdb.InterruptException:
            con.close()
            raise self._timed_out() from None
        except duckdb.Error as exc:
            con.close()
            known = ", ".join(v.name for v in views) or "none named"
            raise QueryError(f"query failed: {exc} (convention views read: {known})") from None

    @contextmanager
    def _deadline(self, con: Any) -> Iterator[None]:
        """Interrupt the statement on `con` once `timeout` seconds have passed."""
        if self.timeout is None:
            yield
            return
        timer = threading.Timer(self.timeout, con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _timed_out(self) -> StatementTimeoutError:
        return StatementTimeoutError(self.timeout or 0, "limits.statement_timeout_seconds")

    def run(self, sql: str, views: Sequence[View]) -> QueryResult:
        import duckdb

        con, cursor = self._execute(sql, views)
        try:
            columns = tuple(d[0] for d in cursor.description)
            with self._deadline(con):
                return QueryResult(columns, cursor.fetchall())
        except duckdb.InterruptException:
            raise self._timed_out() from None
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {exc}") from None
        finally:
            con.close()

    def arrow(self, sql: str, views: Sequence[View]) -> Any:
        import duckdb

        self.tables(sql)
        con = self._prepared(views)
        try:
            with self._deadline(con):
                relation = con.sql(sql)
                fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
                return fetch()  # the name since DuckDB 1.4, and the one before
        except duckdb.InterruptException:
            raise self._timed_out() from None
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {exc}") from None
        finally:
            con.close()


def _mentions(sql: str, name: str) -> int:
    """How often `name` appears as a word (conservative: a mention in a string counts)."""
    return len(re.findall(rf"(?<![\w.]){re.escape(name)}(?!\w)", sql, flags=re.IGNORECASE))

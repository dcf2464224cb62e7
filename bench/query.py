"""Finding records: pages of `records list` filters against the bare SQL in the same run.

N orders (bench/generate.py, the `orders_simple` source of bench/bench.yaml) go into a
fresh store per backend; then each query runs R times through ingestry's Python API
(`Store.records` / `Store.count`: query building, typing, keyset, Record objects) and
as the equivalent hand-written statement through the bare driver (rows as tuples), and
the table shows the fastest round of each, in milliseconds, and their ratio.

  email=     first 100 records of one customer (indexed column), identity order
  deep       100 records sorted by total desc, starting after the record at N/2
             (total has no index: each page sorts what it keeps)
  deep_ix    100 records sorted by email desc (indexed), after the record at N/2 by email
  range      first 100 records with created_at in one week, identity order
  count      records with item_count >= 3 (a full count)

    python bench/query.py [--n 100000] [--repeat 20] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import generate
import pgdb
from measure import fastest

BENCH = Path(__file__).resolve().parent
PAGE = 100


def bare_connection(url: str) -> tuple[Any, str]:
    if url.startswith("sqlite"):
        return sqlite3.connect(url.removeprefix("sqlite:///")), "?"
    import psycopg

    return psycopg.connect(url, autocommit=True), "%s"


def measure(
    backend: str, url: str, data: Path | None, repeat: int, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`data` None: the store at `url` is filled already (bench/dataout_fill.py)."""
    import ingestry

    os.environ["INGESTRY_DATABASE_URL"] = url
    with ingestry.open(BENCH / "bench.yaml") as store:
        if data is not None:
            store.ingest_files("orders_simple", [data])
        every = store.count("order")
        # the deep page's start: the record at N/2 by total (N/2 records read, sorted
        # pages: O(N²/page) on PostgreSQL, most of an hour at 1M; `--skip deep` skips it)
        if "deep" in skip:
            middle = next(iter(store.records("order")))
        else:
            *_, middle = store.records("order", sort="total", desc=True, limit=every // 2)
        email = next(iter(store.records("order"))).columns["email"]
        if "deep_ix" in skip:
            by_email = middle
        else:  # keyset pages on the email index: each reads what it returns
            *_, by_email = store.records("order", sort="email", desc=True, limit=every // 2)
        conn, mark = bare_connection(url)
        decimal = "CAST(total AS REAL)" if backend == "sqlite" else "total"
        ident = "source_type, upstream, source_id"
        _, source_type, upstream, source_id = middle.srn.rsplit(":", 3)
        deep_where = (
            f"({decimal} < (SELECT {decimal} FROM records_order WHERE ({ident}) = "
            f"({mark}, {mark}, {mark})) OR ({decimal} = (SELECT {decimal} FROM records_order "
            f"WHERE ({ident}) = ({mark}, {mark}, {mark})) AND ({ident}) < ({mark}, {mark}, {mark}))"
            f" OR {decimal} IS NULL)"
        )
        key = [source_type, upstream, source_id]
        _, *email_key = by_email.srn.rsplit(":", 3)
        text = "email" if backend == "sqlite" else 'email COLLATE "C"'  # the index's key
        email_where = (
            f"{text} <= {mark} AND ({text} < {mark} OR ({ident}) < ({mark}, {mark}, {mark}))"
        )
        email_params = [by_email.columns["email"], by_email.columns["email"], *email_key]
        week = ("2025-01-10T00:00:00+00:00", "2025-01-17T00:00:00+00:00")
        cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "email=": (
                lambda: list(store.records("order", where=[f"email={email}"], limit=PAGE)),
                lambda: conn.execute(
                    f"SELECT * FROM records_order WHERE email = {mark} ORDER BY {ident} "
                    f"LIMIT {PAGE}",
                    (email,),
                ).fetchall(),
            ),
            "deep": (
                lambda: list(
                    store.records("order", sort="total", desc=True, after=middle.srn, limit=PAGE)
                ),
                lambda: conn.execute(
                    f"SELECT * FROM records_order WHERE {deep_where} ORDER BY ({decimal} IS NULL),"
                    f" {decimal} DESC, source_type DESC, upstream DESC, source_id DESC "
                    f"LIMIT {PAGE}",
                    key * 3,
                ).fetchall(),
            ),
            "deep_ix": (
                lambda: list(
                    store.records("order", sort="email", desc=True, after=by_email.srn, limit=PAGE)
                ),
                lambda: conn.execute(
                    f"SELECT * FROM records_order WHERE {email_where} ORDER BY {text} DESC,"
                    f" source_type DESC, upstream DESC, source_id DESC LIMIT {PAGE}",
                    email_params,
                ).fetchall(),
            ),
            "range": (
                lambda: list(store.records("order", since=week[0], until=week[1], limit=PAGE)),
                lambda: conn.execute(
                    f"SELECT * FROM records_order WHERE created_at >= {mark} AND created_at < "
                    f"{mark} ORDER BY {ident} LIMIT {PAGE}",
                    week,
                ).fetchall(),
            ),
            "count": (
                lambda: store.count("order", where=["item_count>=3"]),
                lambda: conn.execute(
                    f"SELECT count(*) FROM records_order WHERE item_count >= {mark}", (3,)
                ).fetchall(),
            ),
        }
        out: dict[str, Any] = {"records": every}
        for name, (ours, bare) in cases.items():
            if name in skip:
                continue
            ours()  # warm caches and plans once for both
            bare()
            out[name] = {
                "ingestry_ms": fastest(ours, repeat) * 1000,
                "bare_ms": fastest(bare, repeat) * 1000,
            }
        conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--url", help="a store filled already (bench/dataout_fill.py): no ingest, one backend"
    )
    parser.add_argument("--skip", nargs="*", default=[], help="cases left out (with --url)")
    args = parser.parse_args()
    results: dict[str, Any] = {"n": args.n}
    if args.url:
        backend = "sqlite" if args.url.startswith("sqlite") else "postgres"
        results[backend] = measure(backend, args.url, None, args.repeat, tuple(args.skip))
        report(args.n, results)
        return
    data = generate.ensure(args.n, args.seed)
    with tempfile.TemporaryDirectory(prefix="ingestry-bench-query-") as tmp:
        if args.backend in ("sqlite", "both"):
            results["sqlite"] = measure("sqlite", f"sqlite:///{tmp}/q.db", data, args.repeat)
        if args.backend in ("postgres", "both"):
            admin = pgdb.admin_url()
            databases = pgdb.Databases(admin, 0)
            try:
                url = databases.url("query")
                results["postgres"] = measure("postgres", url, data, args.repeat)
            finally:
                databases.close()
    report(args.n, results)


def report(n: int, results: dict[str, Any]) -> None:
    for backend in ("sqlite", "postgres"):
        if backend not in results:
            continue
        print(f"\n{backend}, N={n:,} ({results[backend]['records']:,} records)")
        print(f"{'query':<8} {'ingestry ms':>12} {'bare ms':>9} {'bare/ingestry':>14}")
        for name, row in results[backend].items():
            if name == "records":
                continue
            ratio = row["bare_ms"] / row["ingestry_ms"] if row["ingestry_ms"] else 0.0
            print(f"{name:<8} {row['ingestry_ms']:>12.2f} {row['bare_ms']:>9.2f} {ratio:>14.2f}")
    out = BENCH / "out" / f"query-{n}-{'-'.join(results.keys() - {'n'})}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"\nwritten: {out.relative_to(BENCH.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()

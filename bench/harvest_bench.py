"""Harvest: 100,000 items in pages of 1,000 from the local test upstream
(tests/harvest_upstream.py, its own process), taken three ways in the same run:

  ingestry   `Store.harvest` of a raw source (every page kept, items as raw payloads
             with receipts, records upserted), SQLite or PostgreSQL
  simple     the same source with `strategy: simple` (pages kept, no raw layer: the
             records only, as a simple file source)
  bare       httpx + orjson + the driver: fetch the same pages, upsert each item's id
             and JSON into one table, one transaction per page (the limit a hand-written
             script reaches with the same client and driver)
  dlt        dlt's `rest_api` source (header-link paginator, merge on id) into duckdb

Each step is a child process; its own timer covers the pull (no interpreter start or
imports). Best of `--repeat` rounds; ratios are of one run, so machine load hits all
steps alike (this machine is shared: see bench/README.md).

    python bench/harvest_bench.py [--n 100000] [--page 1000] [--repeat 1]
        [--backend sqlite|postgres|both] [--skip-dlt] [--json]

A/B of two commits (`--rev REV [--against REV2]`, the working tree by default): the
`--steps` (ingestry,simple) of each, interleaved round by round, medians of CPU and wall.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
POSTGRES = os.environ.get(
    "INGESTRY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

#: the project up to its source's `pull:` lines (bench/harvest_latency.py adds others)
CONFIG_HEAD = """\
database: {database}
conventions:
  item:
    columns:
      name: {{path: name, type: text}}
      amount: {{path: amount, type: integer}}
      changed_at: {{path: updated_at, type: text, index: true}}
sources:
  items:
    strategy: {strategy}
    convention: item
    rationale: rate-limited partner API
    id: id
    pull:
"""
CONFIG = (
    CONFIG_HEAD
    + """\
      url: {url}/link
      params: {{size: {page}}}
      paginator: {{type: link_header}}
      concurrency: 2
"""
)


# --- the upstream (a child process) ------------------------------------------------------


def serve(n: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.harvest_upstream import Upstream, make_items
    from tests.harvest_upstream import serve as serving

    with serving(Upstream(items=make_items(n), frozen=True)) as up:
        print(up.url, flush=True)
        sys.stdin.read()  # until the parent closes it


# --- the steps (each a child process) -----------------------------------------------------


def step_ingestry(
    url: str, page: int, work: Path, database: str, strategy: str = "raw"
) -> dict[str, Any]:
    import httpx  # noqa: F401  (imported before the clock, as the bare step does)

    import ingestry

    config = work / "ingestry.yaml"
    text = CONFIG.format(database=database, url=url, page=page, strategy=strategy)
    config.write_text(text, encoding="utf-8")
    with ingestry.open(config) as store:
        _ = store.storage  # migrate before the clock starts (as a CLI run's first use)
        _ = store.control
        started, cpu = time.perf_counter(), cpu_seconds()
        summary = store.harvest("items")
        seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu  # after close: the worker processes were waited for
    return {"seconds": seconds, "cpu": cpu, "items": summary.received, "pages": summary.pages}


def step_simple(url: str, page: int, work: Path, database: str) -> dict[str, Any]:
    return step_ingestry(url, page, work, database, strategy="simple")


def step_bare(url: str, page: int, work: Path, database: str) -> dict[str, Any]:
    import httpx

    sqlite = database.startswith("sqlite")
    if sqlite:
        import sqlite3

        conn: Any = sqlite3.connect(database.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE items (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        sql = "INSERT INTO items VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body"
    else:
        import psycopg

        conn = psycopg.connect(database)
        conn.execute("CREATE TABLE items (id TEXT PRIMARY KEY, body JSONB NOT NULL)")
        conn.commit()
        sql = (
            "INSERT INTO items VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET body = excluded.body"
        )
    started, cpu = time.perf_counter(), cpu_seconds()
    count = 0
    with httpx.Client() as client:
        next_url: str | None = f"{url}/link?size={page}"
        while next_url:
            response = client.get(next_url)
            items = orjson.loads(response.content)
            rows = [(i["id"], orjson.dumps(i).decode()) for i in items]
            with conn if sqlite else conn.transaction():
                conn.cursor().executemany(sql, rows)
            count += len(rows)
            link = response.links.get("next")
            next_url = link["url"] if link else None
    if not sqlite:
        conn.commit()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    conn.close()
    return {"seconds": seconds, "cpu": cpu, "items": count}


def step_dlt(url: str, page: int, work: Path, database: str) -> dict[str, Any]:
    os.environ["RUNTIME__DLT_TELEMETRY"] = "false"
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {"base_url": url + "/", "paginator": {"type": "header_link"}},
            "resources": [
                {
                    "name": "items",
                    "endpoint": {"path": "link", "params": {"size": page}, "data_selector": "$"},
                    "primary_key": "id",
                    "write_disposition": "merge",
                }
            ],
        }
    )
    return run_dlt(source, work, "bench_harvest")


def run_dlt(source: Any, work: Path, name: str) -> dict[str, Any]:
    """`source` loaded by a dlt pipeline into duckdb under `work`, timed around the run;
    the items it holds after."""
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(work / "pipelines"),
        destination=dlt.destinations.duckdb(str(work / "dlt.duckdb")),
        dataset_name="harvest",
    )
    started, cpu = time.perf_counter(), cpu_seconds()
    pipeline.run(source, loader_file_format="jsonl")
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM items")
    assert rows is not None
    count = rows[0][0]
    return {"seconds": seconds, "cpu": cpu, "items": int(count)}


def cpu_seconds() -> float:
    """CPU of this step's process and of its children that ended (worker processes):
    the machine is shared, so CPU says more than wall time about the code."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


STEPS = {"ingestry": step_ingestry, "simple": step_simple, "bare": step_bare, "dlt": step_dlt}


# --- the run ---------------------------------------------------------------------------


def fresh_postgres(work: Path) -> str:
    """A fresh database on the bench server (dropped by `drop_postgres`)."""
    import psycopg

    name = f"harvest_bench_{os.getpid()}_{len(list(work.iterdir()))}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


def drop_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def run_step(
    name: str, url: str, page: int, backend: str, tmp: Path, src: Path | None = None
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(dir=tmp, prefix=f"{name}-"))
    database = f"sqlite:///{work / 'bench.db'}" if backend == "sqlite" else fresh_postgres(tmp)
    try:
        args = [sys.executable, __file__, "--step", name, url, str(page), str(work), database]
        env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(src or ROOT / "src"), env.get("PYTHONPATH")])
        )
        done = subprocess.run(args, capture_output=True, env=env, check=False, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"step {name} failed: {done.stderr.decode()[-2000:]}")
        return dict(orjson.loads(done.stdout.splitlines()[-1]))
    finally:
        if backend != "sqlite":
            drop_postgres(database)


def load() -> float:
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--rev", help="A/B: also run the ingestry steps on src/ at REV, interleaved"
    )
    parser.add_argument("--steps", default="ingestry,simple", help="the --rev steps")
    parser.add_argument("--against", help="with --rev: src/ at this REV, not the working tree")
    args = parser.parse_args(argv)
    if args.rev:
        return compare(args)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.n)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert upstream.stdout is not None and upstream.stdin is not None
    url = upstream.stdout.readline().decode().strip()
    results: dict[str, Any] = {"n": args.n, "page": args.page, "repeat": args.repeat}
    try:
        with tempfile.TemporaryDirectory(prefix="harvest-bench-") as tmp:
            for backend in backends:
                names = ["ingestry", "simple", "bare"] + (
                    [] if args.skip_dlt or backend != "sqlite" else ["dlt"]
                )
                best: dict[str, dict[str, Any]] = {}
                for _ in range(args.repeat):
                    for name in names:
                        before = load()
                        got = run_step(name, url, args.page, backend, Path(tmp))
                        got["load"] = round(max(before, load()), 2)
                        print(f"{backend} {name}: {got}", file=sys.stderr)
                        if got["items"] != args.n:
                            raise RuntimeError(f"{name} took {got['items']} of {args.n} items")
                        if name not in best or got["seconds"] < best[name]["seconds"]:
                            best[name] = got
                results[backend] = best
    finally:
        upstream.stdin.close()
        upstream.wait(10)
    report(results, backends, as_json=args.json)
    return 0


def compare(args: argparse.Namespace) -> int:
    """Interleaved A/B rounds (REV, working tree, REV, ...) of the ingestry steps; the
    medians of CPU and wall per side, and the load seen (wall is unreliable here)."""
    import statistics

    from revision import export  # bench/revision.py

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.n)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert upstream.stdout is not None and upstream.stdin is not None
    url = upstream.stdout.readline().decode().strip()
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="harvest-ab-") as tmp:
            base = export(args.rev, Path(tmp) / "rev")
            tree = export(args.against, Path(tmp) / "against") if args.against else ROOT / "src"
            for _ in range(args.repeat):
                for backend in backends:
                    for name in args.steps.split(","):
                        for side, src in (("rev", base), ("tree", tree)):
                            before = load()
                            got = run_step(name, url, args.page, backend, Path(tmp), src)
                            got.update(side=side, step=name, backend=backend)
                            got["load"] = round(max(before, load()), 2)
                            print(orjson.dumps(got).decode(), file=sys.stderr)
                            if got["items"] != args.n:
                                raise RuntimeError(f"{name} took {got['items']} of {args.n}")
                            rows.append(got)
    finally:
        upstream.stdin.close()
        upstream.wait(10)
    other = args.against or "the working tree"
    print(f"A/B of {args.rev} (rev) and {other} (tree), N={args.n:,}, medians of")
    print(f"{args.repeat} interleaved rounds")
    print("| backend | step | side | CPU s | wall s | load |")
    print("|---|---|---|---:|---:|---:|")
    for backend in backends:
        for name in args.steps.split(","):
            for side in ("rev", "tree"):
                key = (backend, name, side)
                picked = [r for r in rows if (r["backend"], r["step"], r["side"]) == key]
                cpu = statistics.median(r["cpu"] for r in picked)
                wall = statistics.median(r["seconds"] for r in picked)
                span = f"{min(r['load'] for r in picked)}-{max(r['load'] for r in picked)}"
                print(f"| {backend} | {name} | {side} | {cpu:.2f} | {wall:.2f} | {span} |")
    return 0


def report(results: dict[str, Any], backends: list[str], *, as_json: bool) -> None:
    for backend in backends:
        best = results[backend]
        ing = best["ingestry"]["seconds"]
        best["vs_bare"] = round(best["bare"]["seconds"] / ing, 3)
        best["simple_vs_bare"] = round(best["bare"]["seconds"] / best["simple"]["seconds"], 3)
        if "cpu" in best["ingestry"]:  # CPU ratios: what the shared machine distorts least
            bare_cpu = best["bare"]["cpu"]
            best["cpu_vs_bare"] = round(bare_cpu / best["ingestry"]["cpu"], 3)
            best["simple_cpu_vs_bare"] = round(bare_cpu / best["simple"]["cpu"], 3)
        if "dlt" in best:
            best["vs_dlt"] = round(best["dlt"]["seconds"] / ing, 2)
            best["simple_vs_dlt"] = round(best["dlt"]["seconds"] / best["simple"]["seconds"], 2)
            if "cpu" in best["ingestry"]:
                dlt_cpu = best["dlt"]["cpu"]
                best["cpu_vs_dlt"] = round(dlt_cpu / best["ingestry"]["cpu"], 2)
                best["simple_cpu_vs_dlt"] = round(dlt_cpu / best["simple"]["cpu"], 2)
    if as_json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
        return
    n = results["n"]
    print(f"harvest of {n:,} items in pages of {results['page']:,}, best of {results['repeat']}")
    print("| backend | step | seconds | items/s | CPU s | load |")
    print("|---|---|---:|---:|---:|---:|")
    for backend in backends:
        for name in ("ingestry", "simple", "bare", "dlt"):
            if name in results[backend]:
                r = results[backend][name]
                rate = n / r["seconds"]
                cpu = f"{r['cpu']:.2f}" if "cpu" in r else "-"
                row = [backend, name, f"{r['seconds']:.2f}", f"{rate:,.0f}", cpu, r["load"]]
                print("| " + " | ".join(map(str, row)) + " |")
        best = results[backend]
        for name, pre in (("ingestry", ""), ("simple", "simple_")):
            line = f"{backend}: {name} = {best[pre + 'vs_bare']:.2f}x bare (target >= 0.6)"
            if pre + "cpu_vs_bare" in best:
                line += f", by CPU {best[pre + 'cpu_vs_bare']:.2f}x"
            if pre + "vs_dlt" in best:
                line += f"; {best[pre + 'vs_dlt']:.1f}x dlt (target >= 5)"
                if pre + "cpu_vs_dlt" in best:
                    line += f", by CPU {best[pre + 'cpu_vs_dlt']:.2f}x"
            print(line)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--step":
        name, url, page, work, database = sys.argv[2:7]
        print(orjson.dumps(STEPS[name](url, int(page), Path(work), database)).decode())
    else:
        sys.exit(main())

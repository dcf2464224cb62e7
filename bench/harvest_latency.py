"""Harvest from an upstream that takes time to answer: `--delay` seconds a page (a
nearby API answers in 20-100 ms), by offset or by Link header (`--paginator`), the
items in pages of `--page`
from the local test upstream (tests/harvest_upstream.py, its own process). Where
harvest_bench.py measures what a run costs when the network costs nothing, this one
measures what users of a real API wait for.

  simple-1   `Store.harvest` of a simple source, one request at a time (concurrency 1)
  simple-4   the same with `concurrency: 4` (four requests in flight: docs/harvest.md)
  raw-4      a raw source with `concurrency: 4`
  bare       httpx + orjson + sqlite3: the same pages, one after the other, each
             page's items upserted in one transaction (a hand-written script)
  dlt        dlt's `rest_api` source, the same paginator, merge on id, into duckdb

Each step is a child process timed around the pull alone. SQLite only: the waiting is
the same on PostgreSQL.

    python bench/harvest_latency.py [--n 20000] [--page 500] [--delay 0.05]
        [--paginator offset|link] [--repeat 1] [--skip-dlt] [--json]
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
sys.path.insert(0, str(BENCH))

from harvest_bench import CONFIG_HEAD, cpu_seconds, run_dlt  # noqa: E402  (bench/harvest_bench.py)

CONFIG = CONFIG_HEAD + "{pull}      concurrency: {concurrency}\n"

#: the `pull:` lines of each paginator the upstream serves
PULLS = {
    "offset": "      url: {url}/offset\n      items: items\n"
    "      paginator: {{type: offset, limit: {page}}}\n",
    "link": "      url: {url}/link\n      params: {{size: {page}}}\n"
    "      paginator: {{type: link_header}}\n",
}


def serve(n: int, delay: float) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.harvest_upstream import Upstream, make_items
    from tests.harvest_upstream import serve as serving

    with serving(Upstream(items=make_items(n), frozen=True, delay=delay)) as up:
        print(up.url, flush=True)
        sys.stdin.read()  # until the parent closes it


def step_ingestry(
    url: str, page: int, work: Path, paginator: str, strategy: str, concurrency: int
) -> dict[str, Any]:
    import httpx  # noqa: F401  (imported before the clock, as the bare step does)

    import ingestry

    config = work / "ingestry.yaml"
    database = f"sqlite:///{work / 'bench.db'}"
    pull = PULLS[paginator].format(url=url, page=page)
    text = CONFIG.format(database=database, pull=pull, strategy=strategy, concurrency=concurrency)
    config.write_text(text, encoding="utf-8")
    with ingestry.open(config) as store:
        _ = store.storage  # migrate before the clock starts
        _ = store.control
        started, cpu = time.perf_counter(), cpu_seconds()
        summary = store.harvest("items")
        seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    return {"seconds": seconds, "cpu": cpu, "items": summary.received, "requests": summary.requests}


def step_bare(url: str, page: int, work: Path, paginator: str) -> dict[str, Any]:
    import sqlite3

    import httpx

    conn = sqlite3.connect(work / "bare.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE items (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    sql = "INSERT INTO items VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body"
    started, cpu = time.perf_counter(), cpu_seconds()
    count = requests = 0
    offset = 0
    link: str | None = f"{url}/link?size={page}"
    with httpx.Client() as client:
        while link is not None:
            if paginator == "offset":
                response = client.get(f"{url}/offset", params={"offset": offset, "limit": page})
                items = orjson.loads(response.content)["items"]
                offset += page
                link = None if len(items) < page else link
            else:
                response = client.get(link)
                items = orjson.loads(response.content)
                following = response.links.get("next")
                link = following["url"] if following else None
            requests += 1
            rows = [(i["id"], orjson.dumps(i).decode()) for i in items]
            with conn:
                conn.executemany(sql, rows)
            count += len(rows)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    conn.close()
    return {"seconds": seconds, "cpu": cpu, "items": count, "requests": requests}


def step_dlt(url: str, page: int, work: Path, paginator: str) -> dict[str, Any]:
    os.environ["RUNTIME__DLT_TELEMETRY"] = "false"
    from dlt.sources.rest_api import rest_api_source

    if paginator == "offset":
        paging: dict[str, Any] = {"type": "offset", "limit": page, "total_path": None}
        endpoint: dict[str, Any] = {"path": "offset", "data_selector": "items"}
    else:
        paging = {"type": "header_link"}
        endpoint = {"path": "link", "params": {"size": page}, "data_selector": "$"}
    source = rest_api_source(
        {
            "client": {"base_url": url + "/", "paginator": paging},
            "resources": [
                {
                    "name": "items",
                    "endpoint": endpoint,
                    "primary_key": "id",
                    "write_disposition": "merge",
                }
            ],
        }
    )
    return run_dlt(source, work, "bench_latency")


STEPS = ["simple-1", "simple-4", "raw-4", "bare", "dlt"]


def run_step(name: str, url: str, page: int, paginator: str, tmp: Path) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(dir=tmp, prefix=f"{name}-"))
    args = [sys.executable, __file__, "--step", name, url, str(page), str(work), paginator]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(args, capture_output=True, env=env, check=False, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"step {name} failed: {done.stderr.decode()[-2000:]}")
    return dict(orjson.loads(done.stdout.splitlines()[-1]))


def one_step(name: str, url: str, page: int, work: Path, paginator: str) -> dict[str, Any]:
    if name == "bare":
        return step_bare(url, page, work, paginator)
    if name == "dlt":
        return step_dlt(url, page, work, paginator)
    strategy, concurrency = name.split("-")
    return step_ingestry(url, page, work, paginator, strategy, int(concurrency))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds a page takes")
    parser.add_argument("--paginator", choices=sorted(PULLS), default="offset")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.n), str(args.delay)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert upstream.stdout is not None and upstream.stdin is not None
    url = upstream.stdout.readline().decode().strip()
    names = [s for s in STEPS if not (args.skip_dlt and s == "dlt")]
    best: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="harvest-latency-") as tmp:
            for _ in range(args.repeat):
                for name in names:
                    got = run_step(name, url, args.page, args.paginator, Path(tmp))
                    print(f"{name}: {got}", file=sys.stderr)
                    if got["items"] != args.n:
                        raise RuntimeError(f"{name} took {got['items']} of {args.n} items")
                    if name not in best or got["seconds"] < best[name]["seconds"]:
                        best[name] = got
    finally:
        upstream.stdin.close()
        upstream.wait(10)
    report(args, best)
    return 0


def report(args: argparse.Namespace, best: dict[str, dict[str, Any]]) -> None:
    if args.json:
        head = {"n": args.n, "page": args.page, "delay": args.delay, "paginator": args.paginator}
        print(orjson.dumps({**head, **best}).decode())
        return
    pages = -(-args.n // args.page)
    print(
        f"harvest of {args.n:,} items in {pages} pages of {args.page:,}, "
        f"{args.delay * 1000:.0f} ms a page, by {args.paginator}, best of {args.repeat}"
    )
    print("| step | seconds | items/s | CPU s | requests |")
    print("|---|---:|---:|---:|---:|")
    for name, got in best.items():
        rate = args.n / got["seconds"]
        requests = got.get("requests", "")
        print(f"| {name} | {got['seconds']:.2f} | {rate:,.0f} | {got['cpu']:.2f} | {requests} |")
    if "simple-4" in best:
        four = best["simple-4"]["seconds"]
        for other in ("simple-1", "bare", "dlt"):
            if other in best:
                print(f"simple-4 is {best[other]['seconds'] / four:.1f}x faster than {other}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), float(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--step":
        name, url, page, work, paginator = sys.argv[2:7]
        print(orjson.dumps(one_step(name, url, int(page), Path(work), paginator)).decode())
    else:
        sys.exit(main())

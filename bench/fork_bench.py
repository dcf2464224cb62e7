"""Benchmark: `ingestry fork` of N records between two local nodes against export +
`import --as-import` of the same records, in the same run (SQLite, issue 18 item 5).

The remote node is a store of N orders (simple source: records only) served by
`ingestry serve` on 127.0.0.1. Each round, on a fresh local store:
  fork           Store.fork(url, admin key): the changes feed in pages of 1,000 over
                 HTTP (httpx), published with fork provenance, cursor kept per page
  export+import  remote Store.export(jsonl) then local Store.import_export(dir,
                 as_import=True): the same records, the file-based way
Both end with the same N records published locally (checked). Best of `--repeat`
rounds (outside work only ever adds time); the load average is printed with them.

    python bench/fork_bench.py [--n 100000] [--repeat 3] [--seed 42] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil

import generate
from api import free_port

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"


def write_config(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    text = CONFIG.read_text(encoding="utf-8")
    path = root / "ingestry.yaml"
    path.write_text(text.replace("sqlite:///out/bench-manual.db", f"sqlite:///{root}/db.sqlite"))
    return path


def fill(root: Path, n: int, seed: int) -> tuple[Path, str]:
    """The remote node: n orders; returns its config and an admin key."""
    import ingestry

    config = write_config(root)
    with ingestry.open(config) as store:
        store.ingest_files("orders_simple", [generate.ensure(n, seed)])
        return config, store.create_api_key("bench", [], admin=True)[1]


def serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    env["INGESTRY_CONFIG"] = str(config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingestry", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=config.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError(f"ingestry serve exited with {proc.returncode}") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("ingestry serve did not come up")


def timed(fn: Callable[[], int]) -> tuple[float, float, int]:
    """(wall s, this process's CPU s, records) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    records = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, records


def step_fork(root: Path, url: str, key: str) -> int:
    import ingestry

    with ingestry.open(write_config(root)) as store:
        done = store.fork(url, key)
        assert done.rejected == 0, done.errors
        return done.records_created


def step_export_import(root: Path, remote: Path) -> int:
    import ingestry

    out = root / "export"
    with ingestry.open(remote) as store:
        store.export("orders_simple", format="jsonl", out=out)
    with ingestry.open(write_config(root)) as store:
        done = store.import_export(str(out), as_import=True)
        assert done.rejected == 0, done.errors
        return done.records_created


def run(n: int, repeat: int, seed: int) -> dict[str, Any]:
    results: dict[str, Any] = {"n": n, "repeat": repeat, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="fork-bench-") as tmp:
        base = Path(tmp)
        remote, key = fill(base / "remote", n, seed)
        port = free_port()  # one the OS had free: a port from the pid could be taken
        server = serve(remote, port)
        try:
            steps: dict[str, list[tuple[float, float, int]]] = {"fork": [], "export_import": []}
            server_cpu: list[float] = []
            url = f"http://127.0.0.1:{port}"
            serving = psutil.Process(server.pid)
            for i in range(repeat):
                before = sum(serving.cpu_times()[:2])
                steps["fork"].append(timed(partial(step_fork, base / f"f{i}", url, key)))
                server_cpu.append(sum(serving.cpu_times()[:2]) - before)
                steps["export_import"].append(
                    timed(partial(step_export_import, base / f"e{i}", remote))
                )
        finally:
            server.terminate()
            server.wait(30)
    for name, rounds in steps.items():
        assert all(r[2] == n for r in rounds), (name, rounds)
        wall, cpu, _ = min(rounds)
        results[name] = {
            "best_wall_s": round(wall, 3), "cpu_s_of_best": round(cpu, 3),
            "records_per_s": round(n / wall), "all_wall_s": [round(r[0], 3) for r in rounds],
        }  # fmt: skip
    best = min(range(repeat), key=lambda i: steps["fork"][i][0])
    results["fork"]["server_cpu_s_of_best"] = round(server_cpu[best], 3)
    results["fork_vs_export_import"] = round(
        results["export_import"]["best_wall_s"] / results["fork"]["best_wall_s"], 2
    )
    results["load_after"] = os.getloadavg()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.n, args.repeat, args.seed)
    if args.json:
        print(json.dumps(results))
        return
    print(f"N={args.n:,}, best of {args.repeat}, load {results['load_before']}")
    for name in ("fork", "export_import"):
        r = results[name]
        print(
            f"{name:14} {r['best_wall_s']:8.2f} s  {r['records_per_s']:8,} rec/s  "
            f"cpu {r['cpu_s_of_best']:.2f} s  server cpu {r.get('server_cpu_s_of_best', '-')}"
            f"  rounds {r['all_wall_s']}"
        )
    print(f"fork is {results['fork_vs_export_import']}x export+import")


if __name__ == "__main__":
    main()

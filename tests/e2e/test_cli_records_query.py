"""`records list --where/--since/--until/--sort/--desc/--count` from the real CLI."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson

from tests.e2e.cli import run


def _lines(out: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.splitlines()]


def test_filters_sort_and_count(project: Path) -> None:
    ingested = run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    assert ingested.returncode == 0, ingested.stderr
    every = _lines(run("records", "list", "--convention", "order", "--json", cwd=project).stdout)
    big = sorted(
        (r for r in every if r["columns"]["total"] is not None  # type: ignore[index]
         and Decimal(r["columns"]["total"]) > 100),  # type: ignore[index]
        key=lambda r: (-Decimal(r["columns"]["total"]), r["srn"]),  # type: ignore[index]
    )  # fmt: skip
    assert 0 < len(big) < len(every)
    args = ["records", "list", "--convention", "order", "--where", "total>100"]
    listed = run(*args, "--sort", "total", "--desc", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert [r["srn"] for r in _lines(listed.stdout)] == [r["srn"] for r in big]
    counted = run(*args, "--count", cwd=project)
    assert orjson.loads(counted.stdout) == {"count": len(big)}


def test_a_bad_filter_exits_2_and_says_what_to_do(project: Path) -> None:
    result = run("records", "list", "--convention", "order", "--where", "note=x", cwd=project)
    assert result.returncode == 2
    assert b"'note' is not a declared column" in result.stderr
    assert b"ingestry replay" in result.stderr and b"Traceback" not in result.stderr
    desc = run("records", "list", "--convention", "order", "--desc", cwd=project)
    assert desc.returncode == 2 and b"--desc needs --sort" in desc.stderr

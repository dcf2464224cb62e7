"""`ingestry records delete` (soft delete) from the command line, every backend: JSON
shape, exit codes, idempotence, and what `get`, `list`, `query` and `history` show."""

from __future__ import annotations

from pathlib import Path

import orjson

from ingestry.domain.records import record_srn
from tests.backends import Database
from tests.e2e.cli import run

ORDERS = "data/samples/orders.jsonl"
SRN = record_srn("order", "harvest", "customer_orders", "ORD-1001")
UNKNOWN = record_srn("order", "harvest", "customer_orders", "nobody")


def lines(out: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.splitlines()]


def test_records_delete_from_the_cli(project: Path, db: Database) -> None:
    assert run("ingest", "customer_orders", ORDERS, cwd=project).returncode == 0
    before = orjson.loads(run("records", "list", "--convention", "order", "--count",
                              cwd=project).stdout)["count"]  # fmt: skip
    done = run("records", "delete", SRN, "--reason", "test order", "--by", "ops", "--json",
               cwd=project)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (report,) = lines(done.stdout)
    assert (report["srn"], report["status"], report["version"]) == (SRN, "deleted", 2)
    assert (report["by"], report["reason"]) == ("ops", "test order")
    again = run("records", "delete", SRN, "--json", cwd=project)
    assert again.returncode == 0 and lines(again.stdout)[0]["status"] == "already deleted"
    missing = run("records", "delete", UNKNOWN, cwd=project)
    assert missing.returncode == 1 and b"no record" in missing.stderr
    got = run("records", "get", SRN, cwd=project)
    assert got.returncode == 1 and b"deleted at version 2" in got.stderr
    shown = run("records", "get", SRN, "--include-deleted", cwd=project)
    assert shown.returncode == 0 and orjson.loads(shown.stdout)["deleted"]["by"] == "ops"
    count = run("records", "list", "--convention", "order", "--count", cwd=project)
    assert orjson.loads(count.stdout)["count"] == before - 1
    listed = run("records", "list", "--convention", "order", "--json", cwd=project)
    assert SRN not in {r["srn"] for r in lines(listed.stdout)}
    every = run("records", "list", "--convention", "order", "--include-deleted", "--json",
                cwd=project)  # fmt: skip
    assert [r["version"] for r in lines(every.stdout) if r["srn"] == SRN] == [2]
    query = run("query", 'SELECT count(*) AS n FROM "order"', "--json", cwd=project)
    assert query.returncode == 0, query.stderr
    assert lines(query.stdout) == [{"n": before - 1}]
    history = run("records", "history", SRN, "--json", cwd=project)
    assert ["deleted" in v for v in lines(history.stdout)] == [False, True]


def test_records_delete_by_selection(project: Path, db: Database) -> None:
    assert run("ingest", "customer_orders", ORDERS, cwd=project).returncode == 0
    chosen = run("records", "list", "--convention", "order", "--where", "paid=false",
                 "--json", cwd=project)  # fmt: skip
    want = {r["srn"] for r in lines(chosen.stdout)}
    assert want
    done = run("records", "delete", "--convention", "order", "--where", "paid=false",
               "--reason", "unpaid", "--json", cwd=project)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {r["srn"] for r in lines(done.stdout)} == want
    assert {r["status"] for r in lines(done.stdout)} == {"deleted"}
    left = run("records", "list", "--convention", "order", "--where", "paid=false",
               "--count", cwd=project)  # fmt: skip
    assert orjson.loads(left.stdout) == {"count": 0}
    unfiltered = run("records", "delete", "--convention", "order", cwd=project)
    assert unfiltered.returncode == 1 and b"needs a filter" in unfiltered.stderr
    both = run("records", "delete", SRN, "--convention", "order", cwd=project)
    assert both.returncode == 2


def test_a_delete_job_from_the_cli(project: Path, db: Database) -> None:
    """`jobs submit delete` queues what `records delete --convention` does; the worker
    runs it; a missing or bad filter is refused at the submit."""
    assert run("ingest", "customer_orders", ORDERS, cwd=project).returncode == 0
    chosen = run("records", "list", "--convention", "order", "--where", "paid=false",
                 "--count", cwd=project)  # fmt: skip
    want = orjson.loads(chosen.stdout)["count"]
    unfiltered = run("jobs", "submit", "delete", "--convention", "order", cwd=project)
    assert unfiltered.returncode == 2 and b"--where" in unfiltered.stderr
    bad = run("jobs", "submit", "delete", "--convention", "order", "--where", "nope=1",
              cwd=project)  # fmt: skip
    assert bad.returncode == 2
    made = run("jobs", "submit", "delete", "--convention", "order", "--where", "paid=false",
               "--reason", "unpaid", cwd=project)  # fmt: skip
    assert made.returncode == 0, made.stderr
    job = orjson.loads(made.stdout)
    assert run("worker", "--once", cwd=project).returncode == 0
    shown = orjson.loads(run("jobs", "show", job["id"], cwd=project).stdout)
    assert shown["status"] == "succeeded", shown
    assert shown["result"]["deleted"] == want
    left = run("records", "list", "--convention", "order", "--where", "paid=false",
               "--count", cwd=project)  # fmt: skip
    assert orjson.loads(left.stdout) == {"count": 0}

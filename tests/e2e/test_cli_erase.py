"""`ingestry erase` and `ingestry erasures` from the command line (every backend):
JSON shapes, exit codes, the hold that refuses an erasure."""

from __future__ import annotations

from pathlib import Path

import orjson

from ingestry.domain.erasure import srn_digest
from ingestry.domain.records import record_srn
from tests.backends import Database
from tests.e2e.cli import run

ORDERS = "data/samples/orders.jsonl"
SRN = record_srn("order", "harvest", "customer_orders", "ORD-1001")


def test_erase_json_exit_codes_and_the_audit(project: Path, db: Database) -> None:
    assert run("ingest", "customer_orders", ORDERS, cwd=project).returncode == 0
    held = run("raw", "hold", "customer_orders", "--id", "ORD-1001", "--reason", "court", "--json",
               cwd=project)  # fmt: skip
    hold_id = orjson.loads(held.stdout)["id"]
    refused = run("erase", "--source", "customer_orders", "--id", "ORD-1001", "--reason", "GDPR",
                  cwd=project)  # fmt: skip
    assert refused.returncode == 1 and b"blocks the erasure" in refused.stderr
    assert run("raw", "release", str(hold_id), cwd=project).returncode == 0
    done = run("erase", "--source", "customer_orders", "--id", "ORD-1001", "--reason", "GDPR",
               "--by", "dpo@example.org", "--json", cwd=project)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout)
    assert report["srn"] == SRN and report["erased"] is True and report["records"] == 1
    assert report["raw_payloads"] >= 1 and report["actor"] == "dpo@example.org"
    assert run("records", "get", SRN, cwd=project).returncode == 1
    again = run("erase", SRN, "--reason", "GDPR", cwd=project)
    assert again.returncode == 1 and b"no record" in again.stderr
    audit = run("erasures", "--srn", SRN, "--json", cwd=project)
    (row,) = [orjson.loads(line) for line in audit.stdout.splitlines()]
    assert row["srn_sha256"] == srn_digest(SRN) and row["reason"] == "GDPR"
    assert b"ORD-1001" not in audit.stdout and b"farah" not in audit.stdout
    usage = run("erase", "--reason", "x", cwd=project)
    assert usage.returncode == 2

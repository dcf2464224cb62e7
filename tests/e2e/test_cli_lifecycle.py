"""The lifecycle commands through the real CLI, and a dispatcher process killed with
SIGKILL mid-delivery, on every backend."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import ingestry
from ingestry import record_srn
from tests.backends import Database
from tests.e2e.cli import run
from tests.lifecycle import order, with_hooks


def lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_dispatch_features_and_failed_runs(project: Path, config_path: Path) -> None:
    with_hooks(config_path, [("ok", "ok.py", 30), ("fail", "fail.py", 30), ("hang", "hang.py", 1)])
    ingest = run("ingest", "customer_orders", "data/samples/orders.jsonl", "--json", cwd=project)
    assert ingest.returncode == 0, ingest.stderr
    created = json.loads(ingest.stdout)["records_created"]
    dispatched = run("events", "dispatch", "--once", "--limit", "2", "--json", cwd=project)
    assert dispatched.returncode == 0, dispatched.stderr
    assert json.loads(dispatched.stdout) == {
        "claimed": 2, "delivered": 2, "retried": 0, "dead": 0,
        "seconds": json.loads(dispatched.stdout)["seconds"],
    }  # fmt: skip
    srn = record_srn("order", "harvest", "customer_orders", "ORD-1001")
    features = run("records", "features", srn, "--json", cwd=project)
    assert features.returncode == 0, features.stderr
    [feature] = lines(features.stdout)
    assert (feature["name"], feature["hook"], feature["record_version"]) == ("summary", "ok", 1)
    human = run("records", "features", srn, cwd=project)
    assert b"v1 ok/summary = " in human.stdout
    failed = run("hooks", "runs", "--failed", "--json", cwd=project)
    runs = lines(failed.stdout)
    assert sorted((r["hook"], r["reason"]) for r in runs if r["srn"] == srn) == [
        ("fail", "exited with status 3"), ("hang", "timed out after 1 s"),
    ]  # fmt: skip
    assert all(r["status"] == "failed" for r in runs)
    text = run("hooks", "runs", "--failed", cwd=project)
    assert b"fail " + srn.encode() + b" v1: failed (exit 3" in text.stdout
    assert b"stderr: boom: the hook failed on purpose" in text.stdout
    with ingestry.open(config_path) as store:
        assert store.pending_events() == created - 2


def test_dead_events_and_retry(project: Path, config_path: Path, db: Database) -> None:
    ingest = run("ingest", "customer_orders", "-", cwd=project, stdin=b'{"id": "Z-1"}\n')
    assert ingest.returncode == 0
    db.execute(
        "INSERT INTO record_events (srn, convention, version, created_at, status, attempts,"
        " last_error) VALUES ('srn:ingestry:record:gone:deposition::X', 'gone', 1,"
        " '2026-11-01T10:00:00+00:00', 'dead', 5, 'handler: boom')"
    )
    dead = run("events", "dead", "--json", cwd=project)
    [event] = lines(dead.stdout)
    assert (event["kind"], event["attempts"], event["last_error"]) == (
        "RecordPublished", 5, "handler: boom",
    )  # fmt: skip
    assert b"handler: boom" in run("events", "dead", cwd=project).stdout
    usage = run("events", "retry", cwd=project)
    assert usage.returncode == 2
    unknown = run("events", "retry", "999999", cwd=project)
    assert unknown.returncode == 1
    assert b"not dead events" in unknown.stderr
    retried = run("events", "retry", str(event["id"]), "--json", cwd=project)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {"retried": 1}
    assert b"no dead events" in run("events", "dead", cwd=project).stdout


def _wait_for(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow
def test_killed_dispatcher_loses_nothing_and_duplicates_no_feature(
    project: Path, config_path: Path, db: Database
) -> None:
    """A dispatcher process is SIGKILLed while a hook runs (the event is claimed, not
    acknowledged; others were delivered but maybe not yet acknowledged). Once its
    leases expire, a new dispatcher delivers every remaining event: each record's hook
    ran to completion once, features are not duplicated, nothing is left or dead."""
    lease = 3
    with_hooks(config_path, [("slow", "slow.py", 60)], events={"lease_seconds": lease})
    ids = [f"K-{i:02d}" for i in range(12)]
    srns = [record_srn("order", "harvest", "customer_orders", i) for i in ids]
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [order(i) for i in ids])
    target = srns[4]
    (project / "block").write_text(target)
    log = project / "log.txt"

    def logged() -> list[tuple[str, int]]:
        if not log.exists():
            return []
        return [(s, int(p)) for s, p, _ in (x.split() for x in log.read_text().splitlines())]

    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    with (project / "dispatcher.log").open("wb") as output:
        dispatcher = subprocess.Popen(
            [sys.executable, "-m", "ingestry", "events", "dispatch", "--poll", "0.1"],
            cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    orphan = None
    try:
        _wait_for(lambda: any(s == target for s, _ in logged()), 60, "the blocked hook")
        dispatcher.send_signal(signal.SIGKILL)
        dispatcher.wait(10)
        killed_at = time.monotonic()
        orphan = next(pid for s, pid in logged() if s == target)
    finally:
        if dispatcher.poll() is None:
            dispatcher.kill()
        if orphan is not None:  # the hook it was running (its own process group)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(orphan, signal.SIGKILL)
        (project / "block").unlink()
    assert dispatcher.returncode == -signal.SIGKILL
    with ingestry.open(config_path) as store:
        left = store.pending_events()
    assert left >= 1  # the blocked event at least was never acknowledged
    time.sleep(max(0.0, killed_at + lease + 0.5 - time.monotonic()))
    restarted = run("events", "dispatch", "--once", "--json", cwd=project)
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(restarted.stdout)["delivered"] == left
    with ingestry.open(config_path) as store:
        assert store.pending_events() == 0
        assert store.dead_events() == []
        for srn in srns:  # every event delivered: its hook completed and stored features
            [feature] = store.features(srn)
            assert feature.value == {"srn": srn}
        succeeded = Counter(r.srn for r in store.hook_runs() if r.status == "succeeded")
    assert succeeded == Counter(srns)  # once each, the killed run left no trace
    started = Counter(s for s, _ in logged())
    assert set(started) == set(srns)
    assert started[target] == 2  # started before the kill, then again after it
    assert db.count("record_features") == len(srns)


@pytest.mark.slow
def test_two_dispatcher_processes_share_the_outbox(project: Path, config_path: Path) -> None:
    """Two `ingestry events dispatch` processes on one database: every event is
    delivered by exactly one of them (leases), both take part (small claims), and
    SIGTERM stops each one cleanly (exit 0, nothing left leased)."""
    with_hooks(config_path, [("slow", "slow.py", 60)], events={"batch_size": 2})
    ids = [f"P-{i:02d}" for i in range(24)]
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [order(i) for i in ids])
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    argv = [sys.executable, "-m", "ingestry", "events", "dispatch", "--poll", "0.05"]
    log = project / "log.txt"
    procs = []
    try:
        for n in range(2):
            with (project / f"dispatcher-{n}.log").open("wb") as output:
                procs.append(
                    subprocess.Popen(argv, cwd=project, env=env, stdout=output, stderr=output)
                )

        def done() -> bool:
            with ingestry.open(config_path) as store:
                return store.pending_events() == 0

        _wait_for(done, 120, "the outbox to drain")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in procs]
    assert codes == [0, 0]
    entries = [line.split() for line in log.read_text().splitlines()]
    runs = Counter(srn for srn, _, _ in entries)
    assert runs == Counter(
        record_srn("order", "harvest", "customer_orders", i) for i in ids
    )  # once each
    assert {int(ppid) for _, _, ppid in entries} == {proc.pid for proc in procs}
    with ingestry.open(config_path) as store:
        assert len(store.hook_runs()) == len(ids)
        assert store.dead_events() == []

"""The PostgreSQL server the bench measures on: fresh databases per step, and their CPU.

Every PostgreSQL step gets a database of its own, created for the round and dropped
after it (`ingestry_bench_<pid>_r<round>_<tag>`), so no step sees another's tables,
statistics or bloat, and an interrupted run leaves names that say whose they were.

A step's work is split between the client process (measured by `os.wait4`) and the
server backends serving it, whose CPU the client's rusage never sees. `BackendCpu`
reads the CPU time of the whole server from /proc before and after the step: every
postgres process, plus the postmaster's reaped children (the backends that exited,
whose CPU no sample of live processes can see), so each step reports the server CPU it
caused, WAL writer and checkpointer included, and that CPU is not mistaken for
competing load. (Until 2026-12-03 it summed samples of the step database's live
backends, which missed up to 1.5 s of a 100k first ingest's ~6 s: bench/README.md,
"Receipt spans".) It assumes nothing else uses the server during a step; it needs the
server on this machine (the sampled backends' pids tell), elsewhere the server CPU is
reported as unknown.

    INGESTRY_BENCH_POSTGRES_URL=postgresql://user@host:5432/postgres   # the default
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil

ENV = "INGESTRY_BENCH_POSTGRES_URL"
DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
SAMPLE_SECONDS = 0.1
#: After a step, before the server's CPU is read: its backends exit and are reaped.
SETTLE_SECONDS = 0.3


def admin_url() -> str:
    """The maintenance database the bench connects to, to create and drop its own."""
    return os.environ.get(ENV) or DEFAULT


def _connect(url: str) -> Any:
    import psycopg  # the bench extra installs it; SQLite-only runs never import it

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def reachable(url: str) -> str | None:
    """None when a connection works, else why not (for the log)."""
    try:
        with _connect(url):
            return None
    except Exception as error:  # ImportError (no psycopg) or any connection failure
        return str(error).strip().splitlines()[0] if str(error).strip() else repr(error)


def server_version() -> str | None:
    """The server's version string, for the results (None when it does not answer)."""
    try:
        with _connect(admin_url()) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except Exception:
        return None
    return str(row[0]) if row else None


def prefix() -> str:
    """The start of every database name this bench process creates."""
    return f"ingestry_bench_{os.getpid()}_"


def database_url(url: str, name: str) -> str:
    """The URL of database `name` on the server of `url` (user, host, options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class Databases:
    """The fresh databases of one round, created on first use and dropped by `close`."""

    def __init__(self, admin: str, round_: int) -> None:
        self.admin = admin
        self.prefix = f"{prefix()}r{round_}"
        self._created: list[str] = []

    def name(self, tag: str) -> str:
        return f"{self.prefix}_{tag}"

    def url(self, tag: str) -> str:
        """The URL of this round's database `tag`, created empty the first time."""
        name = self.name(tag)
        if name not in self._created:
            with _connect(self.admin) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            self._created.append(name)
        return database_url(self.admin, name)

    def close(self) -> None:
        if not self._created:
            return
        with _connect(self.admin) as conn:
            for name in self._created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()


class BackendCpu(threading.Thread):
    """Samples the CPU seconds of the server backends connected to one database."""

    def __init__(self, admin: str, database: str) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.conn = _connect(admin)
        self.seen: dict[int, float] = {}
        self.visible = True  # False once a backend pid cannot be read on this machine
        self.done = threading.Event()
        self.started: float | None = server_cpu()

    def run(self) -> None:
        try:
            while not self.done.wait(SAMPLE_SECONDS):
                self.sample()
            self.sample()
        finally:
            self.conn.close()

    def sample(self) -> None:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
        ).fetchall()
        for (pid,) in rows:
            try:
                proc = psutil.Process(pid)
                if "postgres" not in proc.name():  # a pid of a server elsewhere
                    self.visible = False
                    continue
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue  # exited since the query
            except psutil.Error:
                self.visible = False
                continue
            self.seen[pid] = max(self.seen.get(pid, 0.0), times.user + times.system)

    def stop(self) -> float | None:
        """Stop sampling; the server's CPU seconds since the start, None when the
        server is remote."""
        self.done.set()
        self.join()
        if not (self.visible and self.seen) or self.started is None:
            return None
        time.sleep(SETTLE_SECONDS)  # the step's backends exit and are reaped
        return round(server_cpu() - self.started, 3)


def server_cpu() -> float:
    """CPU seconds of every postgres process on this machine, plus what the postmaster
    reaped from its exited children."""
    total = 0.0
    for proc in psutil.process_iter(["name", "ppid"]):
        try:
            if "postgres" not in (proc.info["name"] or ""):
                continue
            times = proc.cpu_times()
            total += times.user + times.system
            parent = psutil.Process(proc.info["ppid"])
            if "postgres" not in parent.name():  # the postmaster
                total += times.children_user + times.children_system
        except psutil.Error:
            continue
    return total

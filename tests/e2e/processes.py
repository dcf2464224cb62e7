"""Real `ingestry serve` and `ingestry worker` processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    env.update(extra or {})
    return env


def spawn(*args: str, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ingestry", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None and found is not False:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return int(proc.returncode)


@contextmanager
def server(
    cwd: Path, env: dict[str, str], log: Path, args: tuple[str, ...] = ()
) -> Iterator[httpx.Client]:
    """`ingestry serve` on a free loopback port; yields a client for it once healthy."""
    port = free_port()
    serve = ("serve", "--host", "127.0.0.1", "--port", str(port), *args)
    proc = spawn(*serve, cwd=cwd, env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:

            def healthy() -> bool | None:
                if proc.poll() is not None:
                    raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
                try:
                    return client.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return None

            wait_for("the server to answer /healthz", healthy)
            yield client
    finally:
        # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean exit too
        assert stop(proc) in (0, -signal.SIGTERM), log.read_text()[-2000:]
        assert "Application shutdown complete" in log.read_text()

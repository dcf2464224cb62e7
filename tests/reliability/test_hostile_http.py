"""Hostile HTTP against a real server (uvicorn, a real socket), on both backends: a
client that disconnects mid-body or sends its body slowly, bodies over the limit
declared or chunked, and the JSON hazard corpus. No response is a 5xx, nothing is
logged as an unhandled error, and every accepted byte is kept."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.backends import Database
from tests.e2e.cli import run
from tests.e2e.processes import child_env, server

pytestmark = pytest.mark.slow

PATH = "/v1/sources/customer_orders/payloads"
LIMIT = 64 << 10  # a small body limit, so oversize bodies are cheap to send


@pytest.fixture
def served(project: Path, tmp_path: Path) -> Iterator[tuple[httpx.Client, str, Path]]:
    env = child_env(
        {"INGESTRY_API_RATE_LIMIT": "100000", "INGESTRY_API_RATE_BURST": "100000",
         "INGESTRY_API_MAX_BODY_BYTES": str(LIMIT), "INGESTRY_WORKERS": "0"}
    )  # fmt: skip
    made = run("keys", "create", "--name", "hostile", "--sources", "customer_orders",
               cwd=project, env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    log = tmp_path / "server.log"
    with server(project, env, log) as client:
        yield client, made.stdout.decode().strip(), log


def raw_request(client: httpx.Client, data: bytes, *, pause: float = 0.0) -> bytes:
    """Send `data` on a fresh socket (optionally in slow pieces), return what came back."""
    url = urlparse(str(client.base_url))
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        if pause:
            for n in range(0, len(data), 64):
                sock.sendall(data[n : n + 64])
                time.sleep(pause)
        else:
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def head(token: str, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-API-Key: {token}\r\n"
        f"Content-Type: application/json\r\n{size}{extra}Connection: close\r\n\r\n"
    ).encode()


def test_a_client_that_disconnects_mid_body_is_not_a_server_error(
    served: tuple[httpx.Client, str, Path], db: Database
) -> None:
    client, token, log = served
    for _ in range(3):
        url = urlparse(str(client.base_url))
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(head(token, 10_000) + b'{"id": "half')
            time.sleep(0.2)
        # closed mid-body
    time.sleep(0.5)
    assert client.get("/healthz").status_code == 200
    text = log.read_text()
    assert "unhandled error" not in text and '"status":500' not in text, text[-3000:]
    assert text.count("client disconnected") == 3, text[-3000:]

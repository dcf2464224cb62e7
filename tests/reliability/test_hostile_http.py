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

from tests.apiclient import create_key
from tests.backends import Database
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
    # in-process: one CLI process start less per backend (`keys create` from the CLI
    # is tested in tests/e2e)
    token = create_key(project / "ingestry.yaml", "hostile", ["customer_orders"])
    log = tmp_path / "server.log"
    with server(project, env, log) as client:
        yield client, token, log


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
        chunks = []  # no half-close: uvicorn takes EOF for a client that went away
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def head(token: str, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-API-Key: {token}\r\n"
        f"Content-Type: application/json\r\n{size}{extra}Connection: close\r\n\r\n"
    ).encode()


def test_hostile_http_gets_no_server_error_and_accepted_bytes_are_kept(
    served: tuple[httpx.Client, str, Path], db: Database
) -> None:
    """One server per backend for both checks (a server start is most of their cost):
    clients that disconnect mid-body first (their log lines are counted), then the
    hostile bodies."""
    clients_that_disconnect_mid_body(served)
    hostile_bodies(served, db)


def clients_that_disconnect_mid_body(served: tuple[httpx.Client, str, Path]) -> None:
    """Not a server error: logged `client disconnected`, status 499."""
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


def hostile_bodies(served: tuple[httpx.Client, str, Path], db: Database) -> None:
    """The JSON hazard corpus, oversize bodies declared and chunked, a slow client: no
    5xx, every accepted body's bytes kept (raw or quarantine)."""
    import hashlib

    from tests.fidelity import corpus

    client, token, log = served
    _, payloads = corpus.jsonl()
    statuses: dict[str, int] = {}
    accepted: list[bytes] = []
    for p in payloads:
        for kind in ("application/x-ndjson", "application/json"):
            answer = client.post(
                PATH, content=p.data, headers={"X-API-Key": token, "content-type": kind}
            )
            statuses[f"{p.ident} {kind}"] = answer.status_code
            if answer.status_code == 200:
                accepted.append(p.data)
    # over the limit, declared or chunked; a slow client; a body that lies about its size
    big = b'{"id": "big", "note": "' + b"x" * (2 * LIMIT) + b'"}'
    as_json = {"X-API-Key": token, "content-type": "application/json"}
    declared = client.post(PATH, content=big, headers=as_json)
    statuses["declared oversize"] = declared.status_code
    chunked = client.post(PATH, content=iter([big[:LIMIT], big[LIMIT:]]), headers=as_json)
    statuses["chunked oversize"] = chunked.status_code
    slow_body = b'{"id": "slow", "created_at": "2026-11-01T10:00:00Z", "note": "%s"}' % (b"s" * 600)
    slow = raw_request(client, head(token, len(slow_body)) + slow_body, pause=0.01)
    statuses["slow client"] = int(slow.split(b" ", 2)[1])
    if statuses["slow client"] == 200:
        accepted.append(slow_body)
    errors = {k: v for k, v in statuses.items() if v >= 500}
    figures = (
        f"{len(statuses)} hostile requests: {len(errors)} 5xx, {len(accepted)} accepted, "
        f"statuses {sorted(set(statuses.values()))}"
    )
    print(figures)
    assert not errors, f"{figures}: {errors}"
    assert statuses["declared oversize"] == statuses["chunked oversize"] == 413, statuses
    assert statuses["slow client"] == 200, slow[:300]
    kept = {bytes(r[0]) for r in db.rows("SELECT sha256 FROM raw_payloads")}
    kept |= {bytes(r[0]) for r in db.rows("SELECT sha256 FROM quarantine")}
    lost = [d[:60] for d in accepted if hashlib.sha256(d).digest() not in kept]
    assert not lost, f"{figures}: accepted but not kept: {lost}"
    assert "unhandled error" not in log.read_text()

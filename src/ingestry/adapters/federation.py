"""Another ingestry node's API over HTTP (httpx, imported when a fork runs).

`GET /v1/node` and `GET /v1/changes` with the key in `X-API-Key`. A 429 or 5xx
answer and a connection error are retried (Retry-After honoured, else exponential
backoff) up to `RETRIES` times; anything else that is not 200 is an error naming the
URL, the status and the remote's problem detail.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import orjson

from ingestry.domain.errors import IngestryError, InputError
from ingestry.extract.jsonio import may_hold_long_integers
from ingestry.services.ports import RemoteInfo, RemotePage

RETRIES = 5
TIMEOUT = 60.0


class RemoteNodeError(IngestryError):
    """The remote node could not be read (after retries)."""


class HttpRemoteNode:
    def __init__(self, url: str, key: str, *, timeout: float = TIMEOUT) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - the base install has no httpx
            raise InputError("ingestry fork needs httpx: pip install 'ingestry[harvest]'") from None
        self.url = url.rstrip("/")
        self._httpx = httpx
        self._client = httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=timeout)

    def info(self) -> RemoteInfo:
        body = self._get("/v1/node", {})
        return RemoteInfo(str(body["node_id"]), tuple(str(c) for c in body.get("conventions", ())))

    def changes(
        self, after: str | None, limit: int, convention: str | None, since: str | None
    ) -> RemotePage:
        params: dict[str, Any] = {"limit": limit}
        for name, value in (("after", after), ("convention", convention), ("since", since)):
            if value:
                params[name] = value
        body = self._get("/v1/changes", params)
        return RemotePage(list(body["items"]), str(body["next_cursor"]), bool(body["has_more"]))

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        where = f"{self.url}{path}"
        for attempt in range(RETRIES + 1):
            wait = min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
            try:
                response = self._client.get(path, params=params)
            except self._httpx.TransportError as exc:
                if attempt == RETRIES:
                    raise RemoteNodeError(f"{where}: {exc!s} (after {RETRIES} retries)") from None
                time.sleep(wait)
                continue
            if response.status_code == 200:
                return parsed(response.content)
            retry = response.status_code == 429 or response.status_code >= 500
            if retry and attempt < RETRIES:
                time.sleep(_retry_after(response.headers.get("retry-after"), wait))
                continue
            raise RemoteNodeError(f"{where}: HTTP {response.status_code}: {_detail(response)}")
        raise RemoteNodeError(f"{where}: no answer")  # pragma: no cover - loop returns


def parsed(content: bytes) -> dict[str, Any]:
    """A page as JSON: orjson (a quarter of a fork's client CPU went to the stdlib's
    `json` behind httpx's `Response.json`), unless the page has a digit run long
    enough to overflow 64 bits, which orjson would turn into a float: then the
    stdlib, so such an integer arrives exact."""
    body: dict[str, Any]
    if not may_hold_long_integers(content):
        try:
            body = orjson.loads(content)
            return body
        except orjson.JSONDecodeError:  # what orjson refuses (a lone surrogate escape)
            pass
    body = json.loads(content)
    return body


def _retry_after(value: str | None, default: float) -> float:
    return min(60.0, float(value)) if value and value.isdigit() else default


def _detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text[:200])
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)[:200]
